"""The whole contract suite for the example store: subclass, name the provider, give a config."""

import pytest

from memstack_contract import VectorStoreContract


class TestExampleStoreContract(VectorStoreContract):
    provider = "example-store"

    @pytest.fixture
    def provider_config(self, tmp_path):
        return {"path": str(tmp_path / "store")}
