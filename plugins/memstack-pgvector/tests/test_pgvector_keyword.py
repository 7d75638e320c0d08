"""Keyword search in PostgreSQL (`keyword_query`): the engine's BM25, computed in SQL.

The reference is the engine's own in-process index (`memstack.keyword_index.KeywordIndex`)
attached to the same store: the same scope partitioning, statistics and filter semantics, in
Python. Every filtered query must return the same ids in the same order with the same scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from memstack import capabilities as caps
from memstack.filters import parse_filter
from memstack.keyword_index import KeywordIndex
from memstack.models import Record
from memstack_contract.keyword_data import FILTERS, QUERIES
from memstack_contract.keyword_data import assert_same_ranking as _same
from memstack_contract.keyword_data import keyword_records as _records


def test_filtered_keyword_queries_equal_the_engines_bm25(make_store: Callable[..., Any]) -> None:
    store = make_store()
    assert caps.KEYWORD_SEARCH in store.capabilities
    store.upsert(_records(240))
    reference = KeywordIndex()
    reference.sync(store)
    compared = 0
    for raw in FILTERS:
        node = parse_filter(raw) if raw is not None else None
        for q in QUERIES:
            for limit in (1, 7, 500):
                hits = store.keyword_query(q, limit=limit, filters=node)
                want = reference.search(q, limit=limit, filters=node)
                _same([(h.id, h.score) for h in hits], want)
                assert all(h.score > 0 for h in hits)
                assert all(raw is None or h.payload["user_id"] == raw.get("user_id",
                           h.payload["user_id"]) for h in hits)
                compared += len(want)
    assert compared > 500  # the queries did find things


def test_ties_are_broken_by_id_and_empty_queries_find_nothing(
        make_store: Callable[..., Any]) -> None:
    store = make_store()
    store.upsert([Record(id=i, vector=[1, 0, 0, 0], payload={"text": "zebra crossing"})
                  for i in ("b", "c", "a")] + [
        Record(id="d", vector=[1, 0, 0, 0], payload={"text": "a zebra and a zebra"}),
        Record(id="e", vector=[1, 0, 0, 0], payload={"memory": "zebra, but not in text"})])
    hits = store.keyword_query("zebras", limit=10)
    assert [h.id for h in hits] == ["d", "a", "b", "c"]
    assert hits[0].score > hits[1].score == hits[2].score == hits[3].score > 0
    assert store.keyword_query("the and of", limit=10) == []  # stop words only
    assert store.keyword_query("zebra", limit=0) == []


def test_writes_and_deletes_show_at_once(make_store: Callable[..., Any]) -> None:
    store = make_store()
    store.upsert([Record(id="x", vector=[1, 0, 0, 0], payload={"text": "old words"})])
    assert [h.id for h in store.keyword_query("old", limit=5)] == ["x"]
    store.upsert([Record(id="x", vector=[1, 0, 0, 0], payload={"text": "new words"})])
    assert store.keyword_query("old", limit=5) == []
    assert [h.id for h in store.keyword_query("new", limit=5)] == ["x"]
    store.delete(["x"])
    assert store.keyword_query("new", limit=5) == []
    store.upsert([Record(id="y", vector=[1, 0, 0, 0], payload={"text": "new"})])
    store.reset()
    assert store.keyword_query("new", limit=5) == []


WRITER = """
import json, sys
from memstack.registry import get_registry
from memstack.models import Record
cfg = json.loads(sys.argv[1])
store = get_registry().build("vector_store", "pgvector", cfg)
store.upsert([Record(id="other", vector=[0, 1, 0, 0],
                     payload={"text": "a giraffe from another process", "user_id": "u9"})])
store.close()
"""


def test_a_write_from_another_process_is_found_at_once(
        make_store: Callable[..., Any], pg_config: dict[str, Any]) -> None:
    store = make_store()
    store.upsert([Record(id="mine", vector=[1, 0, 0, 0],
                         payload={"text": "a giraffe here", "user_id": "u9"})])
    scope = parse_filter({"user_id": "u9"})
    assert [h.id for h in store.keyword_query("giraffe", limit=5, filters=scope)] == ["mine"]
    cfg = {**pg_config, "collection": "c", "dimension": 4}
    out = subprocess.run([sys.executable, "-c", WRITER, json.dumps(cfg)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    found = store.keyword_query("giraffe process", limit=5, filters=scope)
    assert [h.id for h in found] == ["other", "mine"]


def test_the_engine_uses_the_stores_keyword_search(pg_config: dict[str, Any],
                                                   tmp_path: Any) -> None:
    from memstack import Memory
    from memstack.keyword_index import StoreKeywordSearch

    memory = Memory({
        "vector_store": {"provider": "pgvector", "config": {**pg_config, "collection": "m"}},
        "embedder": {"provider": "hashing"},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
    })
    try:
        assert isinstance(memory.keywords, StoreKeywordSearch)
        memory.add("I adopted a greyhound named Biscuit", user_id="alice", infer=False)
        memory.add("Biscuit likes long walks", user_id="bob", infer=False)
        hits = memory.search("biscuit", user_id="alice").results
        assert [h.memory for h in hits] == ["I adopted a greyhound named Biscuit"]
    finally:
        memory.close()


def test_keyword_search_can_be_turned_off(make_store: Callable[..., Any]) -> None:
    store = make_store(keyword_search=False)
    assert caps.KEYWORD_SEARCH not in store.capabilities
    assert caps.HYBRID_QUERY not in store.capabilities


def test_existing_tables_are_migrated_and_retokenised(
        make_store: Callable[..., Any], pg_admin: Any, pg_schema: str) -> None:
    first = make_store()
    first.upsert([Record(id="r", vector=[1, 0, 0, 0], payload={"text": "Dancing in Paris"})])
    first.close()
    # A table from before keyword search: no token columns, no index.
    pg_admin.execute(f'ALTER TABLE "{pg_schema}".memstack_c DROP COLUMN kw, DROP COLUMN kw_len')
    migrated = make_store()
    assert [h.id for h in migrated.keyword_query("dance", limit=5)] == ["r"]  # stemmed
    indexes = pg_admin.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s",
                               [pg_schema]).fetchall()
    assert ("memstack_c_kw",) in indexes
    migrated.close()
    simple = make_store(keyword_tokenizer="simple")  # other tokens: the rows are rewritten
    assert simple.keyword_query("dance", limit=5) == []
    assert [h.id for h in simple.keyword_query("dancing", limit=5)] == ["r"]
