"""In-scope recall: small scopes are searched exactly, large ones through HNSW; both against
exact search computed here (numpy) over the same float32 vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from memstack.filters import matches, parse_filter
from memstack.models import Record

DIM = 32


def _data(seed: int = 3) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Clustered unit vectors (like embeddings: topics plus noise); one big scope, many small."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(40, DIM))
    n_big, small, n_small = 2400, 40, 30
    n = n_big + small * n_small
    vecs = centers[rng.integers(0, 40, n)] + 0.6 * rng.normal(size=(n, DIM))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    users = ["big"] * n_big + [f"s{i // small}" for i in range(small * n_small)]
    payloads = [{"user_id": u, "n": i % 7, "text": ""} for i, u in enumerate(users)]
    return vecs.astype(np.float32), payloads


def _exact(vecs: np.ndarray, payloads: list[dict[str, Any]], q: np.ndarray, node: Any,
           k: int) -> list[str]:
    idx = [i for i, p in enumerate(payloads) if matches(node, p)]
    sims = vecs[idx] @ q / np.linalg.norm(vecs[idx], axis=1) / np.linalg.norm(q)
    order = sorted(range(len(idx)), key=lambda j: (-float(sims[j]), f"m{idx[j]:05d}"))
    return [f"m{idx[j]:05d}" for j in order[:k]]


def _load(make_store: Callable[..., Any], **cfg: Any) -> tuple[Any, np.ndarray, list[Any]]:
    vecs, payloads = _data()
    store = make_store(dimension=DIM, **cfg)
    store.upsert([Record(id=f"m{i:05d}", vector=v.tolist(), payload=p)
                  for i, (v, p) in enumerate(zip(vecs, payloads, strict=True))])
    return store, vecs, payloads


def test_small_scopes_are_exact_and_large_ones_use_the_index(
        make_store: Callable[..., Any]) -> None:
    store, vecs, payloads = _load(make_store, exact_scope_max=500)
    rng = np.random.default_rng(11)
    queries = vecs[rng.integers(0, len(vecs), 20)] + 0.3 * rng.normal(size=(20, DIM))
    # Small scopes (40 rows; with a metadata condition, fewer): the exact branch, same ids.
    for i, q in enumerate(queries):
        for raw in ({"user_id": f"s{i}"}, {"AND": [{"user_id": f"s{i}"}, {"n": {"lt": 4}}]}):
            node = parse_filter(raw)
            before = store.exact_scans
            got = [h.id for h in store.query(q.tolist(), limit=10, filters=node)]
            assert store.exact_scans == before + 1
            assert got == _exact(vecs, payloads, q, node, 10)
            assert [rid for rid, _ in store.query_ids(q.tolist(), limit=10, filters=node)] == got
    # The large scope (2,400 rows > 500): HNSW, approximate, recall measured.
    found = total = 0
    for q in queries:
        for raw in ({"user_id": "big"}, {"AND": [{"user_id": "big"}, {"n": {"gte": 2}}]}):
            node = parse_filter(raw)
            before = store.exact_scans
            got = {h.id for h in store.query(q.tolist(), limit=10, filters=node)}
            assert store.exact_scans == before
            want = _exact(vecs, payloads, q, node, 10)
            found += len(got & set(want))
            total += len(want)
    assert found / total >= 0.95


def test_default_settings_search_small_sets_exactly_and_large_ones_well(
        make_store: Callable[..., Any]) -> None:
    store, vecs, payloads = _load(make_store)
    rng = np.random.default_rng(5)
    found = total = 0
    for q in vecs[rng.integers(0, len(vecs), 10)]:
        # 40, ~340 and ~1,030 matching rows: at most exact_scope_max (2,000), so exact
        for raw in ({"user_id": "s3"}, {"AND": [{"user_id": "big"}, {"n": 1}]},
                    {"n": {"in": [1, 2]}}):
            node = parse_filter(raw)
            got = [h.id for h in store.query(q.tolist(), limit=10, filters=node)]
            assert got == _exact(vecs, payloads, q, node, 10)
        # 2,400 rows: through HNSW with the default ef_search and iterative scans
        node = parse_filter({"user_id": "big"})
        got = {h.id for h in store.query(q.tolist(), limit=10, filters=node)}
        want = _exact(vecs, payloads, q, node, 10)
        found, total = found + len(got & set(want)), total + len(want)
    assert store.exact_scans == 30 and store.fallback_scans == 0
    assert found / total >= 0.98


def test_a_scope_known_large_goes_to_the_index_without_counting(
        make_store: Callable[..., Any]) -> None:
    """After the index branch ran for a scope, its next searches (same filter shape) skip the
    count and return what the counted statement returns; a narrower filter of that scope and
    the small scopes still count (and go exact); an expired entry counts again."""
    store, vecs, payloads = _load(make_store)
    rng = np.random.default_rng(7)
    queries = vecs[rng.integers(0, len(vecs), 6)]
    big = parse_filter({"user_id": "big"})
    counted = [[(h.id, round(h.score, 6)) for h in store.query(q.tolist(), limit=10, filters=big)]
               for q in queries]  # the first one runs the count, the rest know the scope
    assert len(store._large_scopes._until) == 1
    store._large_scopes = type(store._large_scopes)(size=0)  # count every time
    again = [[(h.id, round(h.score, 6)) for h in store.query(q.tolist(), limit=10, filters=big)]
             for q in queries]
    assert again == counted
    store._large_scopes = type(store._large_scopes)()
    store.query(queries[0].tolist(), limit=10, filters=big)
    plan = store._plan(queries[0].tolist(), 10, big)
    assert plan.large and not plan.gated
    before = store.exact_scans
    narrow = parse_filter({"AND": [{"user_id": "big"}, {"n": 1}]})  # ~340 rows: exact
    got = [h.id for h in store.query(queries[0].tolist(), limit=10, filters=narrow)]
    assert got == _exact(vecs, payloads, queries[0], narrow, 10)
    small = parse_filter({"user_id": "s3"})
    assert [h.id for h in store.query(queries[0].tolist(), limit=10, filters=small)] == _exact(
        vecs, payloads, queries[0], small, 10)
    assert store.exact_scans == before + 2
    assert not store._plan(queries[0].tolist(), 10, small).large
    # hybrid_query takes the same path
    hits = store.hybrid_query(queries[1].tolist(), "x", limit=10, keyword_limit=5, filters=big)
    assert [(h.id, round(h.score, 6)) for h in hits.vector] == counted[1]


def test_large_scope_entries_expire_and_stay_bounded() -> None:
    import time

    from memstack_pgvector.large_scopes import LargeScopes

    seen = LargeScopes(size=2, ttl=0.05)
    seen.add("a")
    seen.add("b")
    seen.add("c")  # the least recently added goes
    assert "a" not in seen and "b" in seen and "c" in seen
    seen.discard("b")
    assert "b" not in seen
    time.sleep(0.06)
    assert "c" not in seen
    off = LargeScopes(size=0)
    off.add("a")
    assert "a" not in off
