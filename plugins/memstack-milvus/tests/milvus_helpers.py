"""Helpers shared by the tests of memstack-milvus (a unique module name: all tests run together)."""

from __future__ import annotations

from typing import Any

from memstack.registry import get_registry

DIM = 4


def build_store(**config: Any) -> Any:
    """A `milvus` store built through the registry, as an application would."""
    config.setdefault("dimension", DIM)
    return get_registry().build("vector_store", "milvus", config)
