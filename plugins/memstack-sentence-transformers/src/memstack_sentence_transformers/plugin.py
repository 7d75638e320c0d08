"""Registers `sentence-transformers` (embedder) and `cross-encoder` (reranker).

Only config models are imported here; the provider modules (and with them torch and
sentence_transformers) are imported by the factories, when a provider is actually built.
"""

from __future__ import annotations

from typing import Any

from memstack.capabilities import QUERY_DOCUMENT_KINDS, Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_sentence_transformers.config import CrossEncoderConfig, SentenceTransformerConfig


def _embedder(config: SentenceTransformerConfig) -> Any:
    from memstack_sentence_transformers.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(config)


def _reranker(config: CrossEncoderConfig) -> Any:
    from memstack_sentence_transformers.reranker import CrossEncoderReranker

    return CrossEncoderReranker(config)


@hookimpl
def memstack_embedders() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="sentence-transformers",
            kind=Kind.EMBEDDER,
            config_model=SentenceTransformerConfig,
            factory=_embedder,
            # What the provider can do; an instance declares `query_document_kinds` only when
            # its query and document prefixes differ.
            capabilities=frozenset({QUERY_DOCUMENT_KINDS}),
            summary="Local sentence-transformers embeddings; default all-MiniLM-L6-v2 (384-d), "
            "offline.",
            contract_level=4,
        )
    ]


@hookimpl
def memstack_rerankers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="cross-encoder",
            kind=Kind.RERANKER,
            config_model=CrossEncoderConfig,
            factory=_reranker,
            summary="Reranks with a local sentence-transformers CrossEncoder model.",
            contract_level=4,
        )
    ]
