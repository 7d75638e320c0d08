"""Search: candidate retrieval, the keyword side, fusion and the read of what is returned.

Vector mode asks the store for the `limit` nearest memories in the scope. Hybrid mode (the
default) asks for `limit × candidates` ids (payload-free when the store declares `query_ids`),
ranks the scope's keywords (the engine's BM25 index, or the store's own `keyword_search`), fuses
the two lists (`memstack.ranking`, pure) and reads from the store only what it returns: payloads
of bare vector hits, and keyword-only hits whose cached vector (`memstack.vector_cache`) served
the ranking. If that read shows a memory gone or changed (another process), the ranking is done
again, so what is returned is always what the store holds now. A store that declares
`hybrid_query` hands over both lists, payloads and similarities in one call (one read of the
store, nothing to read back): on a database server that is one round trip instead of four.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memstack.capabilities import HYBRID_QUERY, QUERY_IDS
from memstack.filters import FilterNode
from memstack.keyword_index import KeywordIndex, StoreKeywordSearch, open_keyword_index
from memstack.models import MemoryItem
from memstack.payload import to_item
from memstack.protocols import HybridQuery, IdsQuery, Reranker, VectorStore
from memstack.ranking import fuse
from memstack.vector_cache import VectorCache
from memstack.vectors import similarities

Ranked = list[tuple[str, dict[str, Any], float]]
# Vector hits as (id, payload, score); payload None when the store was asked for ids only.
Candidates = Sequence[tuple[str, dict[str, Any] | None, float]]
Known = dict[str, tuple[dict[str, Any] | None, float]]


class Searcher:
    """The read side of one `Memory`: its store, keyword side, vector cache and reranker."""

    def __init__(self, store: VectorStore, settings: Any, reranker: Reranker | None) -> None:
        self.store, self.settings, self.reranker = store, settings, reranker
        self.keywords: KeywordIndex | StoreKeywordSearch | None = (
            open_keyword_index(store, settings) if settings.mode == "hybrid" else None)
        # the store's own keyword search returns hits the cache would not know to keep
        self.cache = VectorCache() if isinstance(self.keywords, KeywordIndex) else None
        self.ids_only = QUERY_IDS in store.capabilities and isinstance(store, IdsQuery)
        self.one_call = (isinstance(self.keywords, StoreKeywordSearch)
                         and HYBRID_QUERY in store.capabilities and isinstance(store, HybridQuery))
        if self.keywords is not None:
            self.keywords.sync(store)

    def apply(self, upserts: Sequence[Any], deletes: Sequence[str]) -> None:
        """A committed write of this process."""
        if self.keywords is not None:
            self.keywords.apply(upserts, deletes)
        if self.cache is not None:
            self.cache.apply(upserts, deletes)

    def reset(self) -> None:
        for part in (self.keywords, self.cache):
            if part is not None:
                part.reset()

    def close(self) -> None:
        close = getattr(self.keywords, "close", None)
        if close is not None:
            close()

    def search(self, query: str, query_vector: list[float], node: FilterNode | None, *,
               limit: int, threshold: float | None, rerank: bool,
               explain: bool = False) -> list[MemoryItem]:
        """The best `limit` memories matching `node`, as `MemoryItem`s with scores; with
        `explain`, each with its vector similarity, keyword and fused scores."""
        fused: dict[str, float] = {}
        keyword: dict[str, float] = {}
        wide = limit * self.settings.candidates
        fetch = wide if (rerank or self.keywords is not None) else limit
        if self.keywords is None:
            ranked = [(h.id, h.payload, h.score)
                      for h in self.store.query(query_vector, limit=fetch, filters=node)]
        elif self.one_call:
            ranked, keyword = self._one_call(query, query_vector, node, fetch=fetch, wide=wide,
                                             threshold=threshold, scores=fused)
        else:
            candidates: Candidates
            if self.ids_only and not rerank:
                pairs = self.store.query_ids(query_vector, limit=fetch,  # type: ignore[attr-defined]
                                             filters=node)
                candidates = [(rid, None, score) for rid, score in pairs]
            else:
                candidates = [(h.id, h.payload, h.score)
                              for h in self.store.query(query_vector, limit=fetch, filters=node)]
            hits = self.keywords.search(query, limit=wide, filters=node)
            keyword = dict(hits)
            ranked = rank_hybrid(candidates, hits, self.store, query_vector, self.settings,
                                 limit=None if rerank else limit, threshold=threshold,
                                 cache=self.cache, keywords=self.keywords, scores=fused)
        if threshold is not None:
            ranked = [r for r in ranked if r[2] >= threshold]
        if not rerank:  # only what is returned becomes a MemoryItem
            ranked = ranked[:limit]
        items = [to_item(i, p, s) for i, p, s in ranked]
        if rerank and items:
            assert self.reranker is not None
            order = self.reranker.rerank(query, [it.memory for it in items], top_k=limit)
            items = [items[i].model_copy(update={"rerank_score": s}) for i, s in order]
        if explain:
            for it in items:
                it.explanation = {
                    "vector_similarity": it.score, "keyword_score": keyword.get(it.id),
                    "fused_score": fused.get(it.id, it.score if self.keywords is None else None),
                    "rerank_score": it.rerank_score,
                    "mode": "vector" if self.keywords is None else
                    f"hybrid ({self.settings.fusion} fusion)"}
        return items[:limit]

    def _one_call(self, query: str, query_vector: list[float], node: FilterNode | None, *,
                  fetch: int, wide: int, threshold: float | None,
                  scores: dict[str, float]) -> tuple[Ranked, dict[str, float]]:
        """Hybrid ranking from one `hybrid_query`: every candidate arrives with its payload
        and cosine similarity, read together, so nothing is read back."""
        both = self.store.hybrid_query(query_vector, query, limit=fetch,  # type: ignore[attr-defined]
                                       keyword_limit=wide, filters=node)
        known = {h.id: (h.payload, h.score) for h in both.vector}
        for h in both.keyword:
            if h.id not in known:
                known[h.id] = (h.payload, both.similarity[h.id])
        hits = [(h.id, h.score) for h in both.keyword]
        order = fuse({rid: s for rid, (_, s) in known.items()}, [h.id for h in both.vector],
                     hits, self.settings, scores)
        if threshold is not None:
            order = [rid for rid in order if known[rid][1] >= threshold]
        return [(rid, *known[rid]) for rid in order], dict(hits)


def rank_hybrid(vector_hits: Candidates, keyword_hits: Sequence[tuple[str, float]],
                store: VectorStore, query_vector: Sequence[float], settings: Any, *,
                limit: int | None = None, threshold: float | None = None,
                cache: VectorCache | None = None, keywords: Any = None,
                scores: dict[str, float] | None = None) -> Ranked:
    """One ranking from both lists; every result keeps its cosine similarity as its score.

    Keyword-only hits are read back from the store (fresh payload, and their similarity is
    computed from the stored vector); ids the store no longer has are dropped. With a `cache`,
    only those among the first `limit` results (after `threshold`) are read back, in one `get`
    with the vector hits there that came without payloads. What a read shows is passed on to
    the cache and to `keywords` (`refresh`), so changes by other processes are taken in.
    """
    known: Known = {rid: (payload, score) for rid, payload, score in vector_hits}
    bare = {rid for rid, (payload, _) in known.items() if payload is None}
    missing = [rid for rid, _ in keyword_hits if rid not in known]
    unverified: set[str] = set()
    if missing and cache is not None:
        held = cache.cached(missing)
        sims = similarities(query_vector, {rid: v for rid, (_, v, _) in held.items()},
                            {rid: n for rid, (_, _, n) in held.items()})
        for rid, (payload, _, _) in held.items():
            known[rid] = (payload, sims[rid])
        unverified.update(held)
        missing = [rid for rid in missing if rid not in held]
    if missing:
        _read(store, missing, known, query_vector, cache, keywords)
    vector_ids = [rid for rid, _, _ in vector_hits]
    while True:
        order = fuse({rid: s for rid, (_, s) in known.items()}, vector_ids, keyword_hits,
                     settings, scores)
        if threshold is not None:
            order = [rid for rid in order if known[rid][1] >= threshold]
        top = order if limit is None else order[:limit]
        check = [rid for rid in top if rid in unverified or rid in bare]
        if not check:
            break
        unverified.difference_update(check)
        bare.difference_update(check)
        before = {rid: known.pop(rid) for rid in check}
        _read(store, check, known, query_vector, cache, keywords, keep_score=before)
        if all(rid in known and (before[rid][0] is None or known[rid] == before[rid])
               for rid in check):
            break  # nothing gone, no cached hit changed: the order stands
    out: Ranked = []
    for rid in order:  # past `limit`, bare vector hits stay unread: they are not returned
        payload, score = known[rid]
        if payload is not None:
            out.append((rid, payload, score))
    return out


def _read(store: VectorStore, ids: Sequence[str], known: Known, query_vector: Sequence[float],
          cache: VectorCache | None, keywords: Any,
          keep_score: Mapping[str, tuple[dict[str, Any] | None, float]] | None = None) -> None:
    """Read `ids` from the store into `known` (payload, cosine); tell the cache and the keyword
    index what it saw. A vector hit that came without payload (in `keep_score` with payload
    None) keeps the store's query score; the others get the cosine of their stored vector."""
    records = store.get(list(ids), with_vectors=True)
    sims = similarities(query_vector, {r.id: r.vector for r in records})
    for rec in records:
        held = keep_score.get(rec.id) if keep_score is not None else None
        score = held[1] if held is not None and held[0] is None else sims[rec.id]
        known[rec.id] = (rec.payload, score)
    found = {r.id for r in records}
    gone = [rid for rid in ids if rid not in found]
    if cache is not None:
        cache.remember(records, gone)
    if keywords is not None:
        keywords.refresh(records, gone)
