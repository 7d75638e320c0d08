"""Fixtures for the qdrant plugin tests: stores in local mode (in memory and on disk)."""

from __future__ import annotations

import pytest
from qdrant_helpers import build


@pytest.fixture
def mem_store():
    store = build({"location": ":memory:", "collection": "t", "keyword_search": True})
    yield store
    store.close()


@pytest.fixture
def path_config(tmp_path) -> dict:
    return {"path": str(tmp_path / "qdrant"), "collection": "t", "keyword_search": True}


@pytest.fixture
def path_store(path_config):
    store = build(path_config)
    yield store
    store.close()


@pytest.fixture(params=["memory", "path"])
def store(request, tmp_path):
    """Both local modes: in memory and on disk (sqlite-backed persistence)."""
    if request.param == "memory":
        s = build({"location": ":memory:", "collection": "t", "keyword_search": True})
    else:
        s = build({"path": str(tmp_path / "qdrant"), "collection": "t", "keyword_search": True})
    yield s
    s.close()
