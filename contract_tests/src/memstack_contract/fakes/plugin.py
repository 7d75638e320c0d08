"""Registers the fakes as providers, so configs can name them: hashing, scripted, token-overlap."""

from __future__ import annotations

from memstack.capabilities import Kind
from memstack.hookspecs import hookimpl
from memstack.spec import ProviderSpec


@hookimpl
def memstack_embedders() -> list[ProviderSpec]:
    from memstack_contract.fakes.hashing_embedder import HashingEmbedder, HashingEmbedderConfig

    return [ProviderSpec("hashing", Kind.EMBEDDER, HashingEmbedderConfig, HashingEmbedder,
                         summary="Deterministic feature-hashing embedder for tests.",
                         contract_level=4)]


@hookimpl
def memstack_llms() -> list[ProviderSpec]:
    from memstack_contract.fakes.scripted_llm import ScriptedLLM, ScriptedLLMConfig

    return [ProviderSpec("scripted", Kind.LLM, ScriptedLLMConfig, ScriptedLLM,
                         capabilities=ScriptedLLM.capabilities,
                         summary="LLM that replies from a script, for tests.",
                         contract_level=4)]


@hookimpl
def memstack_rerankers() -> list[ProviderSpec]:
    from memstack_contract.fakes.overlap_reranker import OverlapReranker, OverlapRerankerConfig

    return [ProviderSpec("token-overlap", Kind.RERANKER, OverlapRerankerConfig, OverlapReranker,
                         summary="Reranks by the share of query words in each document.",
                         contract_level=4)]
