"""The suite run on the providers that ship with memstack and with this package: all must pass."""

from __future__ import annotations

import pytest

from memstack_contract import (
    EmbedderContract,
    HistoryStoreContract,
    LLMContract,
    RerankerContract,
    VectorStoreContract,
)
from memstack_contract.llm import SCRIPT


class TestMemoryStoreContract(VectorStoreContract):
    provider = "memory"


class TestHashingEmbedderContract(EmbedderContract):
    provider = "hashing"

    @pytest.fixture
    def provider_config(self):
        return {"dimension": 32}


class TestScriptedLLMContract(LLMContract):
    provider = "scripted"

    @pytest.fixture
    def provider_config(self):
        return {"rules": SCRIPT}

    @pytest.fixture
    def failing_provider_config(self):
        return {"responses": []}  # nothing to say: the fake fails as a broken backend would


class TestTokenOverlapRerankerContract(RerankerContract):
    provider = "token-overlap"


class TestSQLiteHistoryContract(HistoryStoreContract):
    provider = "sqlite"

    @pytest.fixture
    def provider_config(self, tmp_path):
        return {"path": str(tmp_path / "history.db")}
