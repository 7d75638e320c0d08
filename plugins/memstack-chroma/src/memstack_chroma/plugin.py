"""Registers the `chroma` vector store. Imports only the config and capability declarations;
the store module (and with it chromadb) is imported by the factory."""

from __future__ import annotations

from typing import Any

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_chroma.capabilities import ANY_MODE
from memstack_chroma.config import ChromaConfig


def _store(config: ChromaConfig) -> Any:
    from memstack_chroma.store import ChromaVectorStore

    return ChromaVectorStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="chroma",
            kind=Kind.VECTOR_STORE,
            config_model=ChromaConfig,
            factory=_store,
            # Everything some mode can do; an instance declares its own mode's: `disk` is not
            # `multiprocess`, `memory` is neither that nor `persistent`.
            capabilities=ANY_MODE,
            summary="Chroma: embedded on disk (default), a Chroma server (multi-process), or in "
            "memory; HNSW cosine search, every filter operator except string ranges.",
            contract_level=4,
        )
    ]
