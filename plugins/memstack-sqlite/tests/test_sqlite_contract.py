"""The shared contract suite against the `sqlite` store, keyword search on and off."""

from __future__ import annotations

import pytest

from memstack_contract import VectorStoreContract


@pytest.fixture(scope="module")
def shared_file(tmp_path_factory):
    """One SQLite file for the module: the suite names a fresh collection (table) per test, so
    tests also exercise several collections living side by side in one file."""
    return tmp_path_factory.mktemp("sqlite-contract") / "vectors.db"


class TestSqliteContract(VectorStoreContract):
    provider = "sqlite"

    @pytest.fixture
    def provider_config(self, shared_file):
        return {"path": str(shared_file)}


class TestSqliteCachedContract(VectorStoreContract):
    """Every scope cached (`cache_min_rows` 1): the suite's scoped searches then run on cached
    vectors, and its writes from this and other processes must never leave them stale."""

    provider = "sqlite"
    variant = "cached"

    @pytest.fixture
    def provider_config(self, shared_file):
        return {"path": str(shared_file), "cache_min_rows": 1}
