"""Shared fixtures for the core's tests: deterministic providers, fresh plugin discovery."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Rediscover plugins before and after the test (env vars / sys.path may change)."""
    from memstack.plugins import reset_plugins

    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def base_config(tmp_path: Any) -> dict[str, Any]:
    """Reference store + hashing embedder + SQLite history in tmp_path: fast and exact."""
    return {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
    }


@pytest.fixture
def memory(base_config: dict[str, Any]) -> Iterator[Any]:
    from memstack import Memory

    m = Memory(base_config)
    yield m
    m.close()
