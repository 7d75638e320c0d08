"""Registers the `sqlite` vector store. Imports only the config and capability declarations;
the store module (and with it numpy) is imported by the factory."""

from __future__ import annotations

from typing import Any

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_sqlite.capabilities import CAPABILITIES
from memstack_sqlite.config import SqliteConfig


def _build(config: SqliteConfig) -> Any:
    from memstack_sqlite.store import SqliteStore

    return SqliteStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="sqlite",
            kind=Kind.VECTOR_STORE,
            config_model=SqliteConfig,
            factory=_build,
            capabilities=CAPABILITIES,
            summary="One SQLite file (WAL, several processes): scope columns indexed, exact "
            "cosine search over the scope's rows, the engine's BM25 in the file, every filter.",
            contract_level=4,
        )
    ]
