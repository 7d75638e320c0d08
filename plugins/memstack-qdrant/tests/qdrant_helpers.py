"""Helpers shared by the qdrant plugin tests (a unique module name: tests of every plugin run
in one pytest session, so a generic `helpers`/`conftest` import could pick another plugin's)."""

from __future__ import annotations

from memstack.registry import get_registry

DIM = 4


def build(config: dict):
    """Build a `qdrant` store through the registry, as the engine does."""
    return get_registry().build("vector_store", "qdrant", {"dimension": DIM, **config})
