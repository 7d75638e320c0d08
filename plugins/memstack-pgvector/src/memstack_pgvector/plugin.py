"""Registration hooks: the `pgvector` vector store and the `postgres` history store.

Only config models (pydantic) are imported here; psycopg loads inside the factories.
"""

from __future__ import annotations

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_pgvector.config import PgVectorConfig, PostgresHistoryConfig

# Everything the provider can do (without importing psycopg; a test keeps these in step with the
# store). An instance declares `exact_search` only when its config scans exactly (`exact: true`, or
# vectors too wide for HNSW); with the default HNSW index it is approximate.
VECTOR_STORE_CAPABILITIES = frozenset(
    caps.ALL_FILTER_CAPS | {caps.PERSISTENT, caps.MULTIPROCESS, caps.EXACT_SEARCH,
                           caps.QUERY_IDS, caps.KEYWORD_SEARCH})
HISTORY_CAPABILITIES = frozenset({caps.PERSISTENT, caps.MULTIPROCESS})


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
            contract_level=3,
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
        )
    ]
