"""Fusing the vector ranking with the keyword ranking into one (hybrid search): pure functions.

Two methods (`SearchConfig.fusion`):

- ``convex`` (default): each list's scores are min-max normalised over the candidates, then
  fused = vector + keyword_weight × keyword. A candidate missing from the keyword list counts as
  the weakest keyword match (0); one missing from the vector list has its cosine computed from
  its stored vector (read by `memstack.search`), so both parts are known for every candidate.
- ``rrf``: weighted reciprocal-rank fusion, 1 / (rrf_k + rank) + keyword_weight / (rrf_k + rank).

On the LoCoMo dev split the score fusion beats RRF at every k and hardly depends on the
candidate depth, where RRF does (docs/benchmarks.md, "LoCoMo retrieval"). Nothing here reads a
store: `memstack.search` gathers the scores and re-reads what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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


def fused_scores(similarity: Mapping[str, float], vector_ids: Sequence[str],
                 keyword_hits: Sequence[tuple[str, float]], settings: Any) -> dict[str, float]:
    """Each candidate's fused score (what `fuse` orders by)."""
    weight = float(settings.keyword_weight)
    if getattr(settings, "fusion", "rrf") == "convex":
        return _convex(similarity, dict(keyword_hits), weight)
    return _rrf(vector_ids, [rid for rid, _ in keyword_hits], settings.rrf_k, weight)


def fuse(similarity: Mapping[str, float], vector_ids: Sequence[str],
         keyword_hits: Sequence[tuple[str, float]], settings: Any,
         scores: dict[str, float] | None = None) -> list[str]:
    """The fused order of the candidates whose cosine `similarity` is known (best first, ties
    by id). `vector_ids` is the vector ranking; `keyword_hits` the keyword (id, score) list.
    `scores`, when given, receives the fused scores (for `search(..., explain=True)`)."""
    fused = fused_scores(similarity, vector_ids, keyword_hits, settings)
    if scores is not None:
        scores.clear()
        scores.update(fused)
    return sorted((rid for rid in fused if rid in similarity), key=lambda r: (-fused[r], r))
