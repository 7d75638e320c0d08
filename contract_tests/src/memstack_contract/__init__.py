"""memstack-contract-tests: the shared contract suite (a pytest plugin) and deterministic fakes.

    from memstack_contract import VectorStoreContract

    class TestMyStoreContract(VectorStoreContract):
        provider = "my-store"

        @pytest.fixture
        def provider_config(self, tmp_path):
            return {"path": str(tmp_path / "db")}

Names are imported on first use: `memstack_contract.fakes` is a memstack plugin loaded at every
`memstack` start, and must not drag pytest and hypothesis in with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "VectorStoreContract": "memstack_contract.vector_store",
    "EmbedderContract": "memstack_contract.embedder",
    "LLMContract": "memstack_contract.llm",
    "RerankerContract": "memstack_contract.reranker",
    "HistoryStoreContract": "memstack_contract.history_store",
    "CONTRACT_VERSION": "memstack_contract.versioning",
    "contract": "memstack_contract.versioning",
    "eventually": "memstack_contract.wait",
    "EVENTUALLY_CONSISTENT": "memstack_contract.reasons",
    "run_check": "memstack_contract.check",
}
_KINDS = {
    "vector_store": "VectorStoreContract",
    "embedder": "EmbedderContract",
    "llm": "LLMContract",
    "reranker": "RerankerContract",
    "history_store": "HistoryStoreContract",
}

__all__ = [
    "CONTRACTS",
    "CONTRACT_VERSION",
    "EVENTUALLY_CONSISTENT",
    "EmbedderContract",
    "HistoryStoreContract",
    "LLMContract",
    "RerankerContract",
    "VectorStoreContract",
    "__version__",
    "cli_suite_path",
    "contract",
    "eventually",
    "run_check",
]


def __getattr__(name: str) -> Any:
    if name == "CONTRACTS":
        return {kind: __getattr__(cls) for kind, cls in _KINDS.items()}
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memstack_contract' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from memstack_contract.check import run_check
    from memstack_contract.embedder import EmbedderContract
    from memstack_contract.history_store import HistoryStoreContract
    from memstack_contract.llm import LLMContract
    from memstack_contract.reasons import EVENTUALLY_CONSISTENT
    from memstack_contract.reranker import RerankerContract
    from memstack_contract.vector_store import VectorStoreContract
    from memstack_contract.versioning import CONTRACT_VERSION, contract
    from memstack_contract.wait import eventually

    CONTRACTS: dict[str, type]


def cli_suite_path() -> str:
    """The file pytest collects for --memstack-provider (shipped in this package)."""
    from pathlib import Path

    return str(Path(__file__).with_name("cli_suite.py"))
