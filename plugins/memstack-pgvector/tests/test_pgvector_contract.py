"""The shared contract suites, run against the embedded PostgreSQL + pgvector server."""

from __future__ import annotations

from typing import Any

import pytest

from memstack_contract import HistoryStoreContract, VectorStoreContract


class TestPgVectorContract(VectorStoreContract):
    provider = "pgvector"

    @pytest.fixture
    def provider_config(self, pg_dsn: str, pg_schema: str) -> dict[str, Any]:
        # A schema per test: tests never see each other's tables, and reopening finds the data.
        # A lighter HNSW graph than pgvector's defaults (m=16, ef_construction=64) makes the
        # 6000-record batch test 3x faster; it changes recall, not semantics (recall@10 is
        # still checked by the suite).
        return {"dsn": pg_dsn, "schema": pg_schema, "hnsw_m": 8, "hnsw_ef_construction": 32}


class TestPostgresHistoryContract(HistoryStoreContract):
    provider = "postgres"

    @pytest.fixture
    def provider_config(self, pg_dsn: str, pg_schema: str) -> dict[str, Any]:
        return {"dsn": pg_dsn, "schema": pg_schema}
