"""Deterministic providers for users' own tests; each passes the contract suite itself.

Names are imported on first use, so that loading the `fakes` plugin (at every `memstack` start)
stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "HashingEmbedder": "memstack_contract.fakes.hashing_embedder",
    "HashingEmbedderConfig": "memstack_contract.fakes.hashing_embedder",
    "InMemoryVectorStore": "memstack.builtin.memory_store",
    "OverlapReranker": "memstack_contract.fakes.overlap_reranker",
    "OverlapRerankerConfig": "memstack_contract.fakes.overlap_reranker",
    "ScriptedLLM": "memstack_contract.fakes.scripted_llm",
    "ScriptedLLMConfig": "memstack_contract.fakes.scripted_llm",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
