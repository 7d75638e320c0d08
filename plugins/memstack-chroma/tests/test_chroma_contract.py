"""The shared contract suite, run against each mode of the `chroma` store."""

from __future__ import annotations

import pytest

from memstack_contract import VectorStoreContract


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory):
    """One Chroma directory for the module (the suite names a fresh collection per test):
    creating a new Chroma database costs more than most tests."""
    return tmp_path_factory.mktemp("chroma-contract")


class TestChromaDiskContract(VectorStoreContract):
    provider = "chroma"
    variant = "disk"

    @pytest.fixture
    def provider_config(self, shared_dir):
        return {"path": str(shared_dir / "chroma")}


class TestChromaServerContract(VectorStoreContract):
    provider = "chroma"
    variant = "server"

    @pytest.fixture
    def provider_config(self, chroma_server):
        return chroma_server.config()


class TestChromaMemoryContract(VectorStoreContract):
    provider = "chroma"
    variant = "memory"

    @pytest.fixture
    def provider_config(self):
        return {"mode": "memory"}
