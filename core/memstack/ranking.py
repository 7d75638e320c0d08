"""Fusing the vector ranking with the keyword ranking (reciprocal-rank fusion, weighted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memstack.protocols import VectorStore
from memstack.vectors import cosine

Ranked = list[tuple[str, dict[str, Any], float]]


def fuse(vector_hits: Ranked, keyword_hits: Sequence[tuple[str, float]], store: VectorStore,
         query_vector: Sequence[float], settings: Any) -> Ranked:
    """Order by weighted RRF; every result keeps its cosine similarity as its score.

    Keyword-only hits are read back from the store (fresh payload, and their similarity is
    computed from the stored vector); ids the store no longer has are dropped.
    """
    k = settings.rrf_k
    fused: dict[str, float] = {}
    for rank, (rid, _, _) in enumerate(vector_hits):
        fused[rid] = fused.get(rid, 0.0) + 1.0 / (k + rank + 1)
    for rank, (rid, _) in enumerate(keyword_hits):
        fused[rid] = fused.get(rid, 0.0) + settings.keyword_weight / (k + rank + 1)
    known = {rid: (payload, score) for rid, payload, score in vector_hits}
    missing = [rid for rid, _ in keyword_hits if rid not in known]
    if missing:
        for rec in store.get(missing, with_vectors=True):
            sim = cosine(query_vector, rec.vector) if rec.vector is not None else 0.0
            known[rec.id] = (rec.payload, sim)
    order = sorted((rid for rid in fused if rid in known), key=lambda r: (-fused[r], r))
    return [(rid, known[rid][0], known[rid][1]) for rid in order]
