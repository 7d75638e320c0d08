"""Fusing the vector ranking with the keyword ranking into one (hybrid search).

Two methods (`SearchConfig.fusion`):

- ``convex`` (default): each list's scores are min-max normalised over the candidates, then
  fused = vector + keyword_weight × keyword. A candidate missing from the keyword list counts as
  the weakest keyword match (0); one missing from the vector list has its cosine computed from
  its stored vector, so both parts are known for every candidate.
- ``rrf``: weighted reciprocal-rank fusion, 1 / (rrf_k + rank) + keyword_weight / (rrf_k + rank).

On the LoCoMo dev split the score fusion beats RRF at every k and hardly depends on the
candidate depth, where RRF does (docs/benchmarks.md, "LoCoMo retrieval").
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from memstack.protocols import VectorStore

Ranked = list[tuple[str, dict[str, Any], float]]


def _similarities(query: Sequence[float], vectors: Mapping[str, Sequence[float] | None]
                  ) -> dict[str, float]:
    """Cosine similarity of the query with each vector (0.0 for a missing or zero vector);
    the query's norm is computed once, the products with C-level map/sum."""
    q = list(query)
    qn = math.sqrt(sum(map(operator.mul, q, q)))
    out: dict[str, float] = {}
    for rid, v in vectors.items():
        vn = math.sqrt(sum(map(operator.mul, v, v))) if v is not None else 0.0
        out[rid] = sum(map(operator.mul, q, v)) / (qn * vn) if qn and vn and v else 0.0
    return out


def _minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scale to [0, 1] over these scores; all equal → all 1 (they match equally well)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi <= lo:
        return dict.fromkeys(scores, 1.0)
    return {rid: (s - lo) / (hi - lo) for rid, s in scores.items()}


def _rrf(vector_ids: Sequence[str], keyword_ids: Sequence[str], k: int,
         weight: float) -> dict[str, float]:
    fused: dict[str, float] = {}
    for rank, rid in enumerate(vector_ids):
        fused[rid] = fused.get(rid, 0.0) + 1.0 / (k + rank + 1)
    for rank, rid in enumerate(keyword_ids):
        fused[rid] = fused.get(rid, 0.0) + weight / (k + rank + 1)
    return fused


def _convex(similarity: Mapping[str, float], keyword: Mapping[str, float],
            weight: float) -> dict[str, float]:
    vec = _minmax(similarity)
    kw = _minmax({rid: s for rid, s in keyword.items() if rid in similarity})
    return {rid: vec[rid] + weight * kw.get(rid, 0.0) for rid in similarity}


def fuse(vector_hits: Ranked, keyword_hits: Sequence[tuple[str, float]], store: VectorStore,
         query_vector: Sequence[float], settings: Any) -> Ranked:
    """One ranking from both lists; every result keeps its cosine similarity as its score.

    Keyword-only hits are read back from the store (fresh payload, and their similarity is
    computed from the stored vector); ids the store no longer has are dropped.
    """
    known = {rid: (payload, score) for rid, payload, score in vector_hits}
    missing = [rid for rid, _ in keyword_hits if rid not in known]
    if missing:
        records = store.get(missing, with_vectors=True)
        sims = _similarities(query_vector, {r.id: r.vector for r in records})
        for rec in records:
            known[rec.id] = (rec.payload, sims[rec.id])
    weight = float(settings.keyword_weight)
    if getattr(settings, "fusion", "rrf") == "convex":
        similarity = {rid: s for rid, (_, s) in known.items()}
        fused = _convex(similarity, dict(keyword_hits), weight)
    else:
        fused = _rrf([rid for rid, _, _ in vector_hits], [rid for rid, _ in keyword_hits],
                     settings.rrf_k, weight)
    order = sorted((rid for rid in fused if rid in known), key=lambda r: (-fused[r], r))
    return [(rid, known[rid][0], known[rid][1]) for rid in order]
