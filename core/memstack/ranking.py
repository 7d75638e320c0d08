"""Fusing the vector ranking with the keyword ranking into one (hybrid search).

Two methods (`SearchConfig.fusion`):

- ``convex`` (default): each list's scores are min-max normalised over the candidates, then
  fused = vector + keyword_weight × keyword. A candidate missing from the keyword list counts as
  the weakest keyword match (0); one missing from the vector list has its cosine computed from
  its stored vector, so both parts are known for every candidate.
- ``rrf``: weighted reciprocal-rank fusion, 1 / (rrf_k + rank) + keyword_weight / (rrf_k + rank).

On the LoCoMo dev split the score fusion beats RRF at every k and hardly depends on the
candidate depth, where RRF does (docs/benchmarks.md, "LoCoMo retrieval").

Keyword-only hits need their stored vector. With a `VectorCache` (the engine's keyword index)
the ranking uses cached vectors first, then re-reads from the store only the cached hits that
reach the results, and ranks again if the store says one changed or is gone: what is returned
is always what the store holds now. Vector hits may come without payloads (a store's
`query_ids`); those among the results are read in the same `get`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from memstack.models import Record
from memstack.protocols import VectorStore
from memstack.vectors import similarities

Ranked = list[tuple[str, dict[str, Any], float]]
# Vector hits as (id, payload, score); payload None when the store was asked for ids only.
Candidates = Sequence[tuple[str, dict[str, Any] | None, float]]


class VectorCache(Protocol):
    """Vectors (and payloads) of records fusion may need, kept between searches."""

    def cached(self, ids: Sequence[str]) -> Mapping[str, tuple[dict[str, Any],
                                                             Sequence[float], float]]:
        """id → (payload, vector, the vector's norm) for the ids the cache holds."""
        ...

    def remember(self, records: Sequence[Record], gone: Sequence[str]) -> None: ...


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


def fuse(vector_hits: Candidates, keyword_hits: Sequence[tuple[str, float]],
         store: VectorStore, query_vector: Sequence[float], settings: Any, *,
         limit: int | None = None, threshold: float | None = None,
         cache: VectorCache | None = None) -> Ranked:
    """One ranking from both lists; every result keeps its cosine similarity as its score.

    Keyword-only hits are read back from the store (fresh payload, and their similarity is
    computed from the stored vector); ids the store no longer has are dropped. With a `cache`,
    only those among the first `limit` results (after `threshold`) are read back, in one `get`
    with the vector hits there that came without payloads.
    """
    known: dict[str, tuple[dict[str, Any] | None, float]] = {
        rid: (payload, score) for rid, payload, score in vector_hits}
    bare = {rid for rid, (payload, _) in known.items() if payload is None}
    missing = [rid for rid, _ in keyword_hits if rid not in known]
    unverified: set[str] = set()
    if missing and cache is not None:
        hits = cache.cached(missing)
        sims = similarities(query_vector, {rid: v for rid, (_, v, _) in hits.items()},
                             {rid: n for rid, (_, _, n) in hits.items()})
        for rid, (payload, _, _) in hits.items():
            known[rid] = (payload, sims[rid])
        unverified.update(hits)
        missing = [rid for rid in missing if rid not in hits]
    if missing:
        _read(store, missing, known, query_vector, cache)
    while True:
        order = _order(known, [rid for rid, _, _ in vector_hits], keyword_hits, settings)
        if threshold is not None:
            order = [rid for rid in order if known[rid][1] >= threshold]
        top = order if limit is None else order[:limit]
        check = [rid for rid in top if rid in unverified or rid in bare]
        if not check:
            break
        unverified.difference_update(check)
        bare.difference_update(check)
        before = {rid: known.pop(rid) for rid in check}
        _read(store, check, known, query_vector, cache, keep_score=before)
        if all(rid in known and (before[rid][0] is None or known[rid] == before[rid])
               for rid in check):
            break  # nothing gone, no cached hit changed: the order stands
    out: Ranked = []
    for rid in order:  # past `limit`, bare vector hits stay unread: they are not returned
        payload, score = known[rid]
        if payload is not None:
            out.append((rid, payload, score))
    return out


def _read(store: VectorStore, ids: Sequence[str],
          known: dict[str, tuple[dict[str, Any] | None, float]],
          query_vector: Sequence[float], cache: VectorCache | None,
          keep_score: Mapping[str, tuple[dict[str, Any] | None, float]] | None = None) -> None:
    """Read `ids` from the store into `known` (payload, cosine); tell the cache what it saw.
    A vector hit that came without payload (in `keep_score` with payload None) keeps the
    store's query score; the others get the cosine of their stored vector."""
    records = store.get(list(ids), with_vectors=True)
    sims = similarities(query_vector, {r.id: r.vector for r in records})
    for rec in records:
        held = keep_score.get(rec.id) if keep_score is not None else None
        score = held[1] if held is not None and held[0] is None else sims[rec.id]
        known[rec.id] = (rec.payload, score)
    if cache is not None:
        found = {r.id for r in records}
        cache.remember(records, [rid for rid in ids if rid not in found])


def _order(known: Mapping[str, tuple[dict[str, Any] | None, float]], vector_ids: Sequence[str],
           keyword_hits: Sequence[tuple[str, float]], settings: Any) -> list[str]:
    weight = float(settings.keyword_weight)
    if getattr(settings, "fusion", "rrf") == "convex":
        similarity = {rid: s for rid, (_, s) in known.items()}
        fused = _convex(similarity, dict(keyword_hits), weight)
    else:
        fused = _rrf(vector_ids, [rid for rid, _ in keyword_hits], settings.rrf_k, weight)
    return sorted((rid for rid in fused if rid in known), key=lambda r: (-fused[r], r))
