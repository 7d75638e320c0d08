"""The shared contract suite on Milvus Lite: a fresh collection of one Lite file per test.

`multiprocess` is not declared for Lite files (one process per file), so the suite skips the
multi-process writer test with its standard reason.
"""

from __future__ import annotations

import pytest

from memstack_contract import VectorStoreContract


class TestMilvusLiteContract(VectorStoreContract):
    provider = "milvus"
    variant = "Milvus Lite"

    @pytest.fixture
    def provider_config(self, shared_uri: str) -> dict[str, str]:
        return {"uri": shared_uri, "keyword_search": True}  # a server's default
