"""Fixtures: stores built through the registry on a SQLite file in the test's tmp dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memstack.registry import get_registry


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing lands in the user's home, whatever a test builds."""
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vectors.db"


@pytest.fixture
def make_store(db_path: Path) -> Iterator[Callable[..., Any]]:
    """`make_store(**config)`: a 4-d `sqlite` store on this test's file, closed afterwards."""
    built: list[Any] = []

    def make(**extra: Any) -> Any:
        config = {"path": str(db_path), "collection": "t", "dimension": 4, **extra}
        store = get_registry().build("vector_store", "sqlite", config)
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()
