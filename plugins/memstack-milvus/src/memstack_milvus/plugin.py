"""Registers the `milvus` vector store.

Only the config model is imported here; the store module (and with it pymilvus, milvus_lite and
numpy) is imported by the factory, when a store is actually built.
"""

from __future__ import annotations

from typing import Any

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_milvus.capabilities import CAPABILITIES
from memstack_milvus.config import MilvusStoreConfig


def _store(config: MilvusStoreConfig) -> Any:
    from memstack_milvus.store import MilvusVectorStore

    return MilvusVectorStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="milvus",
            kind=Kind.VECTOR_STORE,
            config_model=MilvusStoreConfig,
            factory=_store,
            capabilities=CAPABILITIES,
            summary="Milvus: a server or Zilliz Cloud (uri + token), or Milvus Lite in a local "
            ".db file; every filter operator, exact semantics.",
            contract_level=4,
        )
    ]
