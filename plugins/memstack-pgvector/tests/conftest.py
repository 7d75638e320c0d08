"""One PostgreSQL + pgvector server per test session (embedded), a fresh schema per test.

Set MEMSTACK_TEST_PG_DSN to run against an existing server instead (it needs superuser rights
or a database where the `vector` extension exists and schemas may be created).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from memstack.registry import get_registry

DSN_ENV = "MEMSTACK_TEST_PG_DSN"


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    if os.environ.get(DSN_ENV):
        yield os.environ[DSN_ENV]
        return
    from memstack_pgvector.testing import embedded_postgres

    with embedded_postgres() as dsn:
        yield dsn


@pytest.fixture
def pg_schema() -> str:
    """A schema name no other test uses, so tests never see each other's tables."""
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def pg_config(pg_dsn: str, pg_schema: str) -> dict[str, Any]:
    return {"dsn": pg_dsn, "schema": pg_schema}


@pytest.fixture
def make_store(pg_config: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """Build `pgvector` stores through the registry; all are closed after the test."""
    built: list[Any] = []

    def make(**overrides: Any) -> Any:
        cfg = {**pg_config, "collection": "c", "dimension": 4, **overrides}
        store = get_registry().build("vector_store", "pgvector", cfg)
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture
def make_history(pg_config: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    built: list[Any] = []

    def make(**overrides: Any) -> Any:
        store = get_registry().build("history_store", "postgres", {**pg_config, **overrides})
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture
def pg_admin(pg_dsn: str) -> Iterator[Any]:
    """A superuser connection (autocommit) for arranging what the stores cannot do themselves."""
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn
