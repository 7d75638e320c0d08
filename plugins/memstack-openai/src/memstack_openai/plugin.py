"""Registers the `openai` LLM and embedder. Imports only the config models: the SDK (and httpx)
load when a provider is built, so `memstack plugins` stays fast."""

from __future__ import annotations

from memstack.capabilities import QUERY_DOCUMENT_KINDS, STRUCTURED_OUTPUT, VISION, Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec
from memstack_openai.config import OpenAIEmbedderConfig, OpenAILLMConfig


def _llm(config: OpenAILLMConfig):  # type: ignore[no-untyped-def]
    from memstack_openai.llm import OpenAILLM

    return OpenAILLM(config)


def _embedder(config: OpenAIEmbedderConfig):  # type: ignore[no-untyped-def]
    from memstack_openai.embedder import OpenAIEmbedder

    return OpenAIEmbedder(config)


@hookimpl
def memstack_llms() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="openai",
            kind=Kind.LLM,
            config_model=OpenAILLMConfig,
            factory=_llm,
            # With the default `structured_output: json_schema`; instances declare per config.
            capabilities=frozenset({STRUCTURED_OUTPUT, VISION}),
            summary="OpenAI Chat Completions (also Azure OpenAI, Ollama, vLLM, LM Studio, ...).",
            contract_level=4,
        )
    ]


@hookimpl
def memstack_embedders() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            name="openai",
            kind=Kind.EMBEDDER,
            config_model=OpenAIEmbedderConfig,
            factory=_embedder,
            # Only with distinct `query_prefix` / `document_prefix`; instances declare per config.
            capabilities=frozenset({QUERY_DOCUMENT_KINDS}),
            summary="OpenAI /v1/embeddings (also Azure OpenAI and OpenAI-compatible servers).",
            contract_level=4,
        )
    ]
