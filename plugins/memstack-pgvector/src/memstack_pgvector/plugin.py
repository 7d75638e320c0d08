"""Registration hooks: the `pgvector` vector store and the `postgres` history store.

Only config models (pydantic) are imported here; psycopg loads inside the factories.
"""

from __future__ import annotations

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_pgvector.capabilities import HISTORY_CAPABILITIES, VECTOR_STORE_CAPABILITIES
from memstack_pgvector.config import PgVectorConfig, PostgresHistoryConfig

__all__ = ["HISTORY_CAPABILITIES", "VECTOR_STORE_CAPABILITIES"]  # their home: capabilities.py


def _vector_store(config: PgVectorConfig):  # type: ignore[no-untyped-def]
    from memstack_pgvector.store import PgVectorStore

    return PgVectorStore(config)


def _history_store(config: PostgresHistoryConfig):  # type: ignore[no-untyped-def]
    from memstack_pgvector.history import PostgresHistoryStore

    return PostgresHistoryStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="pgvector",
            kind=Kind.VECTOR_STORE,
            config_model=PgVectorConfig,
            factory=_vector_store,
            capabilities=VECTOR_STORE_CAPABILITIES,
            summary="PostgreSQL + pgvector: HNSW cosine index, jsonb payload filters in SQL.",
            contract_level=4,
        )
    ]


@hookimpl
def memstack_history_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="postgres",
            kind=Kind.HISTORY_STORE,
            config_model=PostgresHistoryConfig,
            factory=_history_store,
            capabilities=HISTORY_CAPABILITIES,
            summary="History of every change in one Postgres table, shared by many servers.",
            contract_level=4,
        )
    ]
