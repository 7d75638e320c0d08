"""The core's own plugin: pure-Python providers that need no extra package.

- vector store ``memory``: in-memory reference store (exact search, every filter operator);
- history store ``sqlite``: the default history store.
"""

from __future__ import annotations

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec


def _memory_store(config):  # type: ignore[no-untyped-def]
    from memstack.builtin.memory_store import InMemoryVectorStore

    return InMemoryVectorStore(config)


def _sqlite_history(config):  # type: ignore[no-untyped-def]
    from memstack.builtin.sqlite_history import SQLiteHistoryStore

    return SQLiteHistoryStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    from memstack.builtin.memory_store import CAPABILITIES, MemoryStoreConfig

    return [
        ProviderSpec(
            name="memory",
            kind=Kind.VECTOR_STORE,
            config_model=MemoryStoreConfig,
            factory=_memory_store,
            capabilities=CAPABILITIES,
            summary="In-process reference store: exact cosine search, nothing kept on disk.",
            contract_level=4,
        )
    ]


@hookimpl
def memstack_history_stores() -> list[ProviderSpec]:
    from memstack.builtin.sqlite_history import SQLiteHistoryConfig, SQLiteHistoryStore

    return [
        ProviderSpec(
            name="sqlite",
            kind=Kind.HISTORY_STORE,
            config_model=SQLiteHistoryConfig,
            factory=_sqlite_history,
            capabilities=SQLiteHistoryStore.capabilities,
            summary="History of every change in a SQLite file (WAL mode).",
            contract_level=4,
        )
    ]
