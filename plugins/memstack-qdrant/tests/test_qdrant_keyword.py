"""Keyword search inside Qdrant (`keyword_query`, `hybrid_query`): the engine's BM25 over a
sparse vector of the engine's tokens.

The reference is the engine's own in-process index (`memstack.keyword_index.KeywordIndex`)
attached to the same store: the same scope partitioning, statistics and filter semantics, in
Python. Every filtered query must return the same ids in the same order with the same scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from qdrant_helpers import build

from memstack import capabilities as caps
from memstack.errors import UnsupportedFeature
from memstack.filters import parse_filter
from memstack.keyword_index import KeywordIndex
from memstack.models import Record
from memstack_contract.keyword_data import FILTERS, QUERIES
from memstack_contract.keyword_data import assert_same_ranking as _same
from memstack_contract.keyword_data import keyword_records as _records


def test_filtered_keyword_queries_equal_the_engines_bm25(mem_store: Any) -> None:
    """240 records in three users' scopes, 10 filters x 8 queries x 2 limits: the scores use
    each scope's own statistics, exactly as the engine's index does."""
    store = mem_store
    assert {caps.KEYWORD_SEARCH, caps.HYBRID_QUERY} <= store.capabilities
    store.upsert(_records(240))
    reference = KeywordIndex()
    reference.sync(store)
    compared = 0
    for raw in FILTERS:
        node = parse_filter(raw) if raw is not None else None
        for q in QUERIES:
            for limit in (3, 500):
                hits = store.keyword_query(q, limit=limit, filters=node)
                want = reference.search(q, limit=limit, filters=node)
                _same([(h.id, h.score) for h in hits], want)
                assert all(h.score > 0 for h in hits)
                stored = {r.id: r.payload for r in store.get([h.id for h in hits])}
                assert all(h.payload == stored[h.id] for h in hits)  # user fields only
                compared += len(want)
    assert compared > 500  # the queries did find things


def test_scope_statistics_are_the_scopes_own(mem_store: Any) -> None:
    """The same text scores differently in two scopes where the term is rare in one and
    common in the other (IDF of the searched scope, not of the collection)."""
    recs = [Record(id="a0", vector=[1, 0, 0, 0], payload={"text": "zebra", "user_id": "a"})]
    recs += [Record(id=f"a{i}", vector=[1, 0, 0, 0], payload={"text": "lion", "user_id": "a"})
             for i in range(1, 10)]
    recs += [Record(id=f"b{i}", vector=[1, 0, 0, 0], payload={"text": "zebra", "user_id": "b"})
             for i in range(10)]
    mem_store.upsert(recs)
    [rare] = mem_store.keyword_query("zebra", limit=1, filters=parse_filter({"user_id": "a"}))
    [common] = mem_store.keyword_query("zebra", limit=1, filters=parse_filter({"user_id": "b"}))
    assert rare.id == "a0" and common.id == "b0"
    assert rare.score > 2 * common.score


def test_ties_are_broken_by_id_and_empty_queries_find_nothing(mem_store: Any) -> None:
    mem_store.upsert([Record(id=i, vector=[1, 0, 0, 0], payload={"text": "zebra crossing"})
                      for i in ("b", "c", "a")] + [
        Record(id="d", vector=[1, 0, 0, 0], payload={"text": "a zebra and a zebra"}),
        Record(id="e", vector=[1, 0, 0, 0], payload={"memory": "zebra, but not in text"})])
    hits = mem_store.keyword_query("zebras", limit=10)
    assert [h.id for h in hits] == ["d", "a", "b", "c"]
    assert hits[0].score > hits[1].score == hits[2].score == hits[3].score > 0
    assert mem_store.keyword_query("the and of", limit=10) == []  # stop words only
    assert mem_store.keyword_query("zebra", limit=0) == []
    assert mem_store.keyword_query("zebra", limit=5,
                                   filters=parse_filter({"user_id": "nobody"})) == []


def test_writes_updates_and_deletes_show_at_once(store: Any) -> None:
    store.upsert([Record(id="x", vector=[1, 0, 0, 0], payload={"text": "old words"}),
                  Record(id="y", vector=[0, 1, 0, 0], payload={"text": "other words"})])
    assert [h.id for h in store.keyword_query("old", limit=5)] == ["x"]
    before = store.keyword_query("words", limit=5)
    store.upsert([Record(id="x", vector=[1, 0, 0, 0], payload={"text": "new words words"})])
    assert store.keyword_query("old", limit=5) == []
    assert [h.id for h in store.keyword_query("new", limit=5)] == ["x"]
    after = store.keyword_query("words", limit=5)
    assert [h.id for h in after] == ["x", "y"] and after != before  # tf and length changed
    store.delete(["x"])
    assert store.keyword_query("new", limit=5) == []
    assert [h.id for h in store.keyword_query("words", limit=5)] == ["y"]
    store.reset()
    assert store.keyword_query("words", limit=5) == []


READER = """
import json, sys
from memstack.registry import get_registry
from memstack.filters import parse_filter
from memstack.models import Record
cfg = json.loads(sys.argv[1])
store = get_registry().build("vector_store", "qdrant", cfg)
hits = store.keyword_query("giraffe process", limit=5, filters=parse_filter({"user_id": "u9"}))
print(json.dumps([[h.id, h.score] for h in hits]))
store.upsert([Record(id="other", vector=[0, 1, 0, 0],
                     payload={"text": "a giraffe from another process", "user_id": "u9"})])
store.close()
"""


def test_another_process_sees_the_keyword_side(path_config: dict[str, Any]) -> None:
    """Local mode locks its folder (one process at a time), so processes take turns: what one
    wrote is searchable by the next with no index of its own to rebuild, and the other way."""
    cfg = {**path_config, "dimension": 4}
    first = build(path_config)
    first.upsert([Record(id="mine", vector=[1, 0, 0, 0],
                         payload={"text": "a giraffe here", "user_id": "u9"})])
    want = first.keyword_query("giraffe process", limit=5,
                               filters=parse_filter({"user_id": "u9"}))
    first.close()
    out = subprocess.run([sys.executable, "-c", READER, json.dumps(cfg)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[h.id, h.score] for h in want]
    again = build(path_config)
    try:
        found = again.keyword_query("giraffe process", limit=5,
                                    filters=parse_filter({"user_id": "u9"}))
        assert [h.id for h in found] == ["other", "mine"]
    finally:
        again.close()


def test_keyword_search_can_be_turned_off() -> None:
    store = build({"location": ":memory:", "collection": "t", "keyword_search": False})
    try:
        assert caps.KEYWORD_SEARCH not in store.capabilities
        assert caps.HYBRID_QUERY not in store.capabilities
        store.upsert([Record(id="x", vector=[1, 0, 0, 0], payload={"text": "zebra"})])
        with pytest.raises(UnsupportedFeature, match="keyword_search"):
            store.keyword_query("zebra", limit=5)
    finally:
        store.close()


def test_existing_collections_are_migrated_and_retokenised(path_config: dict[str, Any]) -> None:
    """A collection without the sparse vector (an older version, or `keyword_search: false`)
    gets it and every point's tokens on open; nothing else changes. Another tokenizer
    re-tokenises; turning keyword search off and on again backfills what was written
    meanwhile."""
    old = build({**path_config, "keyword_search": False})
    records = [Record(id=f"r{i}", vector=[1.0 + i, 2, 0, 0.5],
                      payload={"text": t, "user_id": "u", "n": i})
               for i, t in enumerate(["Dancing in Paris", "a quiet library", "", "zebras"])]
    old.upsert(records)
    before = old.get([r.id for r in records], with_vectors=True)
    old.close()

    migrated = build(path_config)
    assert [h.id for h in migrated.keyword_query("dance", limit=5)] == ["r0"]  # stemmed
    after = migrated.get([r.id for r in records], with_vectors=True)
    assert [(r.id, r.payload) for r in after] == [(r.id, r.payload) for r in before]
    for a, b in zip(after, before, strict=True):
        assert a.vector == pytest.approx(b.vector, rel=1e-6)
    reference = KeywordIndex()
    reference.sync(migrated)
    for q in ("zebra", "library dance"):
        _same([(h.id, h.score) for h in migrated.keyword_query(q, limit=5)],
              reference.search(q, limit=5))
    migrated.close()

    simple = build({**path_config, "keyword_tokenizer": "simple"})
    assert simple.keyword_query("dance", limit=5) == []
    assert [h.id for h in simple.keyword_query("dancing", limit=5)] == ["r0"]
    simple.close()

    off = build({**path_config, "keyword_search": False})
    off.upsert([Record(id="late", vector=[0, 0, 1, 0], payload={"text": "dancing late"})])
    off.close()
    on = build(path_config)
    try:
        assert {h.id for h in on.keyword_query("dance", limit=5)} == {"r0", "late"}
    finally:
        on.close()


def _memory(tmp_path: Any, collection: str) -> Any:
    from memstack import Memory

    return Memory({
        "vector_store": {"provider": "qdrant",
                         "config": {"path": str(tmp_path / "q"), "collection": collection,
                                    "keyword_search": True}},
        "embedder": {"provider": "hashing"},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
    })


def test_the_engine_uses_the_stores_keyword_search(tmp_path: Any) -> None:
    from memstack.keyword_index import StoreKeywordSearch

    memory = _memory(tmp_path, "m")
    try:
        assert isinstance(memory.keywords, StoreKeywordSearch)
        memory.add("I adopted a greyhound named Biscuit", user_id="alice", infer=False)
        memory.add("Biscuit likes long walks", user_id="bob", infer=False)
        hits = memory.search("biscuit", user_id="alice").results
        assert [h.memory for h in hits] == ["I adopted a greyhound named Biscuit"]
    finally:
        memory.close()


def test_keyword_search_defaults_to_the_server_only() -> None:
    """Unset, keyword search runs in the store with a server (shared by every process) and in
    the engine in local mode (one process; the engine's index ranks alike, faster)."""
    from memstack_qdrant.capabilities import for_config
    from memstack_qdrant.config import QdrantStoreConfig

    local = build({"location": ":memory:", "collection": "d"})
    try:
        assert caps.KEYWORD_SEARCH not in local.capabilities
        assert caps.HYBRID_QUERY not in local.capabilities
    finally:
        local.close()
    server = QdrantStoreConfig(url="http://127.0.0.1:6333", collection="d", dimension=4)
    assert server.keyword_side and caps.KEYWORD_SEARCH in for_config(server)
    assert not QdrantStoreConfig(url="http://127.0.0.1:6333", keyword_search=False).keyword_side
