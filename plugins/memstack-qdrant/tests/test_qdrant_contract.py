"""The shared contract suite, on both local modes (a server is not available offline)."""

from __future__ import annotations

import pytest

from memstack_contract import VectorStoreContract


class TestQdrantMemoryContract(VectorStoreContract):
    """Local mode's default: keyword search left to the engine."""

    provider = "qdrant"
    variant = "local :memory:"

    @pytest.fixture
    def provider_config(self):
        return {"location": ":memory:"}


class TestQdrantPathContract(VectorStoreContract):
    """Keyword search in the store (a server's default), on a local folder."""

    provider = "qdrant"
    variant = "local path"

    @pytest.fixture
    def provider_config(self, tmp_path):
        return {"path": str(tmp_path / "qdrant"), "keyword_search": True}
