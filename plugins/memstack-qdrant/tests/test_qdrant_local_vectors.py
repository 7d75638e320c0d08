"""Local mode re-normalises its vectors in place on every cosine query; the store keeps them at
fixed points of that step, so the same query always scores the same (`local_vectors`)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from memstack_qdrant.local_vectors import EPSILON, settle

from memstack.models import Record


def _local_step(block: np.ndarray) -> np.ndarray:
    """What qdrant_client.local.distances.cosine_similarity does to the stored matrix."""
    out = block.copy()
    norms = np.linalg.norm(out, axis=-1)[:, np.newaxis]
    out /= np.where(norms != 0.0, norms, EPSILON)
    return out


@pytest.mark.parametrize("kind", ["uniform", "normal", "sparse integers", "with zero rows"])
def test_settled_rows_are_fixed_points_close_to_the_input(kind: str) -> None:
    rng = np.random.default_rng(3)
    shape = (2000, 384)
    raw = {"uniform": lambda: rng.random(shape),
           "normal": lambda: rng.normal(size=shape),
           "sparse integers": lambda: (rng.random(shape) < 0.05) * rng.integers(1, 4, shape),
           "with zero rows": lambda: rng.random(shape) * (rng.random((shape[0], 1)) < 0.9),
           }[kind]().astype(np.float64)
    lengths = np.linalg.norm(raw, axis=1)[:, np.newaxis]
    unit = (raw / np.where(lengths == 0, 1, lengths)).astype(np.float32)
    assert (_local_step(unit) != unit).any()  # the problem: the step moves some rows
    settled, left = settle(unit)
    assert left == 0
    assert np.array_equal(_local_step(settled), settled)
    assert np.abs(settled - unit).max() < 1e-6


def test_the_same_query_scores_the_same_every_time(store) -> None:
    rng = random.Random(2)
    store.upsert([Record(id=f"r{i}", vector=[rng.random() for _ in range(4)], payload={})
                  for i in range(300)])
    query = [rng.random() for _ in range(4)]
    first = store.query(query, limit=300)
    for _ in range(5):
        assert store.query(query, limit=300) == first
        assert store.query_ids(query, limit=300) == [(h.id, h.score) for h in first]
