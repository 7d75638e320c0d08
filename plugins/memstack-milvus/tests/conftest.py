"""Fixtures: Milvus Lite in a temporary directory, one server for the session.

Starting Milvus Lite takes ~0.2 s and creating a collection ~30 ms, so most tests share one Lite
file and get a fresh collection each; tests about files (reopen, locks) use their own file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from milvus_helpers import build_store

_names = itertools.count()


@pytest.fixture(scope="session")
def shared_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Lite file for the session; a keeper store holds its server open until the end."""
    uri = str(tmp_path_factory.mktemp("milvus") / "shared.db")
    keeper = build_store(uri=uri, collection="keeper")
    yield uri
    keeper.close()


@pytest.fixture
def make_store(shared_uri: str) -> Iterator[Callable[..., Any]]:
    """Factory of stores, each on a fresh collection of the shared Lite file; closed afterwards."""
    made: list[Any] = []

    def make(**config: Any) -> Any:
        config.setdefault("uri", shared_uri)
        config.setdefault("keyword_search", True)  # Lite's default is off; these test it on
        config.setdefault("collection", f"t{next(_names)}")
        store = build_store(**config)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Any]) -> Any:
    return make_store()


@pytest.fixture
def lite_file(tmp_path: Path) -> str:
    """A Lite file of its own, for tests about opening, closing and other processes."""
    return str(tmp_path / "own.db")
