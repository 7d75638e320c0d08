"""Registers the `qdrant` vector store. Imports neither qdrant_client nor numpy (see `_build`)."""

from __future__ import annotations

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_qdrant.capabilities import ALL_CAPABILITIES
from memstack_qdrant.config import QdrantStoreConfig


def _build(config: QdrantStoreConfig):  # type: ignore[no-untyped-def]
    from memstack_qdrant.store import QdrantVectorStore  # heavy: qdrant_client, numpy

    return QdrantVectorStore(config)


@hookimpl
def memstack_vector_stores() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="qdrant",
            kind=Kind.VECTOR_STORE,
            config_model=QdrantStoreConfig,
            factory=_build,
            capabilities=ALL_CAPABILITIES,
            summary="Qdrant server, cluster or Qdrant Cloud (url), or embedded local mode "
            "(path / :memory:).",
            contract_level=4,
        )
    ]
