"""Keyword search on Milvus Lite against the engine's own BM25 (`memstack.keyword_index`).

The engine's index, synced to the very same store, is the reference: same tokens, same
per-scope statistics, same filter semantics. Scores, ids and order must agree exactly, for many
filters, queries and limits; every write must show on the keyword side at once.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from milvus_helpers import DIM

from memstack import capabilities as caps
from memstack.errors import StoreError
from memstack.filters import parse_filter
from memstack.keyword_index import KeywordIndex
from memstack.models import Record

WORDS = ("zebra lion library road quiet dance dancing danced dances hobby hobbies paint painting "
         "garden trip paris tokyo coffee tea morning evening run running marathon book books "
         "concert guitar piano sister brother dog dogs cat adopt adopted").split()
STOP = "the a and of to in on with was is".split()
USERS = ("ann", "bob", "cy")


def text_of(rng: random.Random) -> Any:
    kind = rng.random()
    if kind < 0.04:
        return None if kind < 0.02 else 17  # not a string: the engine indexes str(value)
    if kind < 0.07:
        return ""
    n = rng.randint(1, 14)
    return " ".join(rng.choice(WORDS) if rng.random() < 0.75 else rng.choice(STOP)
                    for _ in range(n)).capitalize() + rng.choice([".", "!", "?", ""])


def corpus(n: int, seed: int = 7) -> list[Record]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        payload: dict[str, Any] = {"user_id": USERS[i % 3], "group": "ab"[rng.randint(0, 1)],
                                   "n": i}
        text = text_of(rng)
        if text is not None or rng.random() < 0.5:
            payload["text"] = text
        if rng.random() < 0.5:
            payload["agent_id"] = rng.choice(["x", "y"])
        if rng.random() < 0.3:
            payload["tags"] = rng.sample(["red", "blue", "green"], 2)
        vec = [rng.uniform(-1, 1) for _ in range(DIM)]
        out.append(Record(id=f"r{i:03d}", vector=vec, payload=payload))
    return out


FILTERS: list[dict[str, Any] | None] = [
    None,
    {"user_id": "ann"},
    {"user_id": "bob", "agent_id": "x"},
    {"AND": [{"user_id": "ann"}, {"group": "a"}]},
    {"user_id": "cy", "n": {"gte": 100}},
    {"group": "b"},
    {"OR": [{"user_id": "ann"}, {"agent_id": "y"}]},
    {"NOT": {"user_id": "bob"}},
    {"user_id": "ann", "tags": {"contains": "red"}},
    {"user_id": "nobody"},
]
QUERIES = ["zebra", "dancing hobbies", "the lion and the road", "Paris trip in the morning",
           "adopted dogs", "piano concert guitar sister", "of the", "unknownword"]


def reference(store: Any) -> KeywordIndex:
    index = KeywordIndex()
    index.sync(store)
    return index


def assert_same(store: Any, index: KeywordIndex, query: str, limit: int,
                raw: dict[str, Any] | None) -> None:
    node = parse_filter(raw) if raw is not None else None
    want = index.search(query, limit=limit, filters=node)
    got = store.keyword_query(query, limit=limit, filters=node)
    where = f"{query!r} limit={limit} filters={raw}"
    assert [h.id for h in got] == [rid for rid, _ in want], where
    # the same formula summed in the same term order: equal to the last bit
    assert [h.score for h in got] == [score for _, score in want], where


@pytest.fixture
def loaded(make_store: Any) -> tuple[Any, list[Record]]:
    store = make_store()
    records = corpus(300)
    store.upsert(records)
    return store, records


def test_declares_keyword_search_and_hybrid_query(store: Any) -> None:
    assert {caps.KEYWORD_SEARCH, caps.HYBRID_QUERY} <= store.capabilities
    assert store.keyword_off_reason is None


def test_scores_equal_the_engine_bm25(loaded: tuple[Any, list[Record]]) -> None:
    store, _ = loaded
    index = reference(store)
    for raw in FILTERS:
        for query in QUERIES:
            for limit in (1, 7, 400):
                assert_same(store, index, query, limit, raw)


def test_hits_carry_their_payloads(loaded: tuple[Any, list[Record]]) -> None:
    store, records = loaded
    by_id = {r.id: r.payload for r in records}
    hits = store.keyword_query("zebra lion", limit=20, filters=parse_filter({"user_id": "bob"}))
    assert hits and all(h.payload == by_id[h.id] for h in hits)
    assert all(h.payload["user_id"] == "bob" for h in hits)


def test_writes_change_the_keyword_side_at_once(loaded: tuple[Any, list[Record]]) -> None:
    store, records = loaded
    ann = parse_filter({"user_id": "ann"})
    store.upsert([Record(id="new", vector=[1, 0, 0, 0],
                         payload={"user_id": "ann", "text": "xylophone zebra"})])
    assert [h.id for h in store.keyword_query("xylophone", limit=5, filters=ann)] == ["new"]
    # an update replaces the terms: the old word is gone, the new one found
    store.upsert([Record(id="new", vector=[1, 0, 0, 0],
                         payload={"user_id": "ann", "text": "ukulele"})])
    assert store.keyword_query("xylophone", limit=5, filters=ann) == []
    assert [h.id for h in store.keyword_query("ukulele", limit=5, filters=ann)] == ["new"]
    # moving a record to another scope moves it on the keyword side too
    store.upsert([Record(id="new", vector=[1, 0, 0, 0],
                         payload={"user_id": "bob", "text": "ukulele"})])
    assert store.keyword_query("ukulele", limit=5, filters=ann) == []
    assert [h.id for h in store.keyword_query("ukulele", limit=5,
                                              filters=parse_filter({"user_id": "bob"}))] == ["new"]
    # deletes (of a hit and of others) change hits and the scope's statistics alike
    zebra = store.keyword_query("zebra", limit=100, filters=ann)
    store.delete(["new", zebra[0].id, *[r.id for r in records[:40]]])
    assert store.keyword_query("ukulele", limit=5) == []
    assert zebra[0].id not in {h.id for h in store.keyword_query("zebra", limit=100, filters=ann)}
    index = reference(store)
    for raw in FILTERS[:4]:
        assert_same(store, index, "zebra dancing", 50, raw)


def test_a_term_in_more_rows_than_one_search_returns(loaded: tuple[Any, list[Record]],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A posting cut at the search limit is read by a scan of the scope instead: same scores."""
    import memstack_milvus.store as store_module

    store, _ = loaded
    index = reference(store)
    monkeypatch.setattr(store_module, "SPARSE_TOPK", 5)
    for raw in FILTERS[:5]:
        for query in QUERIES[:4]:
            assert_same(store, index, query, 10, raw)


def test_hybrid_query_returns_both_sides_and_similarities(
        loaded: tuple[Any, list[Record]]) -> None:
    store, records = loaded
    by_id = {r.id: r for r in records}
    q = [0.3, -0.2, 0.9, 0.1]
    node = parse_filter({"user_id": "cy", "group": "a"})
    both = store.hybrid_query(q, "garden coffee", limit=6, keyword_limit=9, filters=node)
    assert [h.id for h in both.vector] == [h.id for h in store.query(q, limit=6, filters=node)]
    assert [h.id for h in both.keyword] == [
        h.id for h in store.keyword_query("garden coffee", limit=9, filters=node)]
    assert set(both.similarity) == {h.id for h in both.keyword} and both.keyword
    for rid, sim in both.similarity.items():
        vec = by_id[rid].vector or []
        dot = sum(a * b for a, b in zip(q, vec, strict=True))
        norm = (sum(a * a for a in q) * sum(b * b for b in vec)) ** 0.5
        assert sim == pytest.approx(dot / norm, abs=1e-5)


def test_another_tokenizer_retokenises_on_open(make_store: Any, shared_uri: str) -> None:
    first = make_store(collection="tok", keyword_tokenizer="english")
    first.upsert([Record(id="a", vector=[1, 0, 0, 0], payload={"text": "She was dancing"}),
                  Record(id="b", vector=[0, 1, 0, 0], payload={"text": "they dance"})])
    assert {h.id for h in first.keyword_query("danced", limit=5)} == {"a", "b"}  # stems meet
    simple = make_store(collection="tok", keyword_tokenizer="simple")
    assert [h.id for h in simple.keyword_query("dancing", limit=5)] == ["a"]
    assert simple.keyword_query("danced", limit=5) == []
    assert [h.id for h in simple.keyword_query("was", limit=5)] == ["a"]  # no stop words
    assert [r.id for r in simple.list()] == ["a", "b"]  # nothing lost on the way


def test_keyword_search_can_be_turned_off(make_store: Any) -> None:
    store = make_store(keyword_search=False)
    assert caps.KEYWORD_SEARCH not in store.capabilities
    assert caps.HYBRID_QUERY not in store.capabilities
    assert "turns keyword_search off" in (store.keyword_off_reason or "")
    store.upsert([Record(id="a", vector=[1, 0, 0, 0], payload={"text": "zebra"})])
    with pytest.raises(StoreError, match="not available"):
        store.keyword_query("zebra", limit=3)
    # the rows still carry their terms: turning it on later needs no rewrite
    again = make_store(collection=store.collection)
    assert [h.id for h in again.keyword_query("zebra", limit=3)] == ["a"]


def test_a_collection_from_before_keyword_search_keeps_working(make_store: Any,
                                                               shared_uri: str) -> None:
    """Milvus Lite cannot add fields: an old collection keeps every record, without the
    capability (the engine's own BM25 serves hybrid search), and says why."""
    from pymilvus import DataType, MilvusClient

    raw = MilvusClient(uri=shared_uri)
    try:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=65_535)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("doc", DataType.ARRAY, element_type=DataType.VARCHAR,
                         max_capacity=4096, max_length=65_535)
        schema.add_field("idx", DataType.JSON)
        raw.create_collection("old_layout", schema=schema, consistency_level="Strong")
    finally:
        raw.close()
    old = make_store(collection="old_layout")
    assert caps.KEYWORD_SEARCH not in old.capabilities and not old.keyword_fields
    assert "created before keyword search" in (old.keyword_off_reason or "")
    old.upsert([Record(id="a", vector=[1, 0, 0, 0], payload={"text": "zebra", "user_id": "u"})])
    assert [r.id for r in old.list(filters=parse_filter({"user_id": "u"}))] == ["a"]
    assert old.query([1, 0, 0, 0], limit=1)[0].id == "a"
    with pytest.raises(StoreError, match="created before keyword search"):
        old.keyword_query("zebra", limit=1)


def test_hybrid_memory_search_on_milvus(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                        shared_uri: str) -> None:
    """Through `Memory`: hybrid search asks the store (no engine index), finds a keyword-only
    match, and a second `Memory` on the same collection sees the first one's writes."""
    from memstack import Memory
    from memstack.keyword_index import StoreKeywordSearch

    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    config = {
        "vector_store": {"provider": "milvus",
                         "config": {"uri": shared_uri, "collection": "mem_hybrid",
                                    "keyword_search": True}},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
        "search": {"mode": "hybrid"},
    }
    one, two = Memory.from_config(config), Memory.from_config(config)
    try:
        assert isinstance(one.searcher.keywords, StoreKeywordSearch) and one.searcher.one_call
        assert two.search("greyhound", user_id="u1").results == []
        for text in ["I adopted a greyhound named Pixel", "Coffee in the morning",
                     "The marathon is in April", "My sister plays the cello"]:
            one.add(text, user_id="u1", infer=False)
        found = two.search("greyhound", user_id="u1", limit=2)
        assert found.results and "greyhound" in found.results[0].memory
    finally:
        one.close()
        two.close()


def test_keyword_search_defaults_to_a_server_only(shared_uri: str) -> None:
    """Unset, Milvus Lite (one process per file) leaves keyword search to the engine's index,
    which ranks alike and faster there; a server's processes share the store's."""
    from memstack_milvus.config import MilvusStoreConfig

    from memstack.registry import get_registry

    lite = get_registry().build("vector_store", "milvus",
                                {"uri": shared_uri, "collection": "kwdefault", "dimension": 4})
    try:
        assert caps.KEYWORD_SEARCH not in lite.capabilities
        assert "off by default on Milvus Lite" in (lite.keyword_off_reason or "")
    finally:
        lite.close()
    assert MilvusStoreConfig(uri="http://127.0.0.1:19530", dimension=4).keyword_side
    assert not MilvusStoreConfig(uri="http://127.0.0.1:19530", keyword_search=False).keyword_side
