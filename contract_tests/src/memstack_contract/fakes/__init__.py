"""Deterministic providers for users' own tests; each passes the contract suite itself."""

from memstack.builtin.memory_store import InMemoryVectorStore
from memstack_contract.fakes.hashing_embedder import HashingEmbedder, HashingEmbedderConfig
from memstack_contract.fakes.overlap_reranker import OverlapReranker
from memstack_contract.fakes.scripted_llm import ScriptedLLM, ScriptedLLMConfig

__all__ = [
    "HashingEmbedder",
    "HashingEmbedderConfig",
    "InMemoryVectorStore",
    "OverlapReranker",
    "ScriptedLLM",
    "ScriptedLLMConfig",
]
