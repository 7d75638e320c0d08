"""MemstackStore on the fast engine (hashing embedder, in-process store): every BaseStore call."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp
from memstack_langgraph import MemstackStore
from memstack_langgraph import store as store_module

from memstack import Memory

NS = ("alice", "memories")


@pytest.fixture
def store(memory: Memory) -> MemstackStore:
    return MemstackStore(memory)


def test_values_round_trip_with_their_types(store: MemstackStore) -> None:
    value = {"i": 1, "f": 1.0, "b": True, "n": None, "s": "tea ☕", "big": 2**62,
             "l": [1, 2.5, "x", False, None], "d": {"deep": {"x": [{"y": 0.1}]}},
             "empty": {}, "not an identifier": 3}
    store.put(NS, "k", value)
    item = store.get(NS, "k")
    assert item is not None
    assert item.value == value
    assert [type(item.value[k]) for k in ("i", "f", "b", "big")] == [int, float, bool, int]
    assert item.namespace == NS and item.key == "k"
    assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
    assert item.created_at == item.updated_at


def test_put_replaces_keeps_created_at_and_writes_history(store: MemstackStore,
                                                          memory: Memory) -> None:
    store.put(NS, "k", {"text": "likes green tea", "x": 1})
    first = store.get(NS, "k")
    store.put(NS, "k", {"text": "likes black tea"})
    second = store.get(NS, "k")
    assert first is not None and second is not None
    assert second.value == {"text": "likes black tea"}
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert store.search(NS, filter={"x": 1}) == []  # the dropped field no longer matches
    [mem] = memory.get_all(user_id="alice", agent_id="langgraph").results
    events = [(h.event, h.new_memory) for h in memory.history(mem.id)]
    assert events == [("ADD", '{"text": "likes green tea", "x": 1}'),
                      ("UPDATE", '{"text": "likes black tea"}')]


def test_same_text_under_two_keys_stays_two_items(store: MemstackStore) -> None:
    store.put(NS, "a", {"text": "same"})
    store.put(NS, "b", {"text": "same"})
    assert sorted(i.key for i in store.search(NS)) == ["a", "b"]
    store.delete(NS, "a")
    assert store.get(NS, "a") is None and store.get(NS, "b") is not None
    store.delete(NS, "missing")  # deleting nothing is fine, as in LangGraph


def test_namespace_maps_onto_scope(store: MemstackStore, memory: Memory) -> None:
    store.put(("alice", "prefs"), "k", {"text": "tea"})
    store.put(("bob", "prefs"), "k", {"text": "coffee"})
    alice = memory.get_all(user_id="alice").results
    assert [m.agent_id for m in alice] == ["langgraph"]
    assert alice[0].metadata["lg_namespace"] == "alice.prefs"
    assert memory.search("coffee", user_id="alice").results[0].memory == '{"text": "tea"}'
    other = MemstackStore(memory, agent_id="another-graph")
    assert other.get(("alice", "prefs"), "k") is None and other.list_namespaces() == []


def test_prefix_is_exact_label_by_label(store: MemstackStore) -> None:
    store.put(("a", "b"), "1", {"v": 1})
    store.put(("a", "bc"), "2", {"v": 2})
    store.put(("ab",), "3", {"v": 3})
    assert [i.key for i in store.search(("a", "b"))] == ["1"]
    assert sorted(i.key for i in store.search(("a",))) == ["1", "2"]
    assert sorted(i.key for i in store.search(())) == ["1", "2", "3"]


def test_query_search_ranks_and_keeps_scores(store: MemstackStore) -> None:
    store.put(NS, "tea", {"text": "Alice drinks green tea every morning"})
    store.put(NS, "bike", {"text": "Alice rides a red bike to work"})
    store.put(("bob", "memories"), "tea", {"text": "Bob drinks green tea"})
    hits = store.search(("alice",), query="green tea")
    assert [h.key for h in hits] == ["tea", "bike"]
    assert hits[0].score is not None and hits[0].score > (hits[1].score or 0)
    assert [h.key for h in store.search(("alice",), query="green tea", limit=1, offset=1)] == \
        ["bike"]


def test_index_fields_and_unindexed_items(memory: Memory) -> None:
    store = MemstackStore(memory, index={"fields": ["text"]})
    store.put(NS, "a", {"text": "kayaking on the lake", "other": "piano"})
    store.put(NS, "b", {"text": "piano lessons"}, index=["nothing_here"])
    store.put(NS, "c", {"text": "piano concert"}, index=False)
    hits = store.search(NS, query="piano", limit=10)
    scored = [h.key for h in hits if h.score is not None]
    assert scored == ["a"]  # only `a` is indexed: its text field is what was embedded
    assert sorted(h.key for h in hits if h.score is None) == ["b", "c"]
    assert [h.memory for h in memory.get_all(user_id="alice").results
            if h.metadata["lg_key"] == "a"] == ["kayaking on the lake"]
    with pytest.raises(ValueError, match="dims"):
        MemstackStore(memory, index={"dims": 384, "embed": "openai:x", "fields": ["text"]})


@pytest.mark.parametrize(("flt", "keys"), [
    ({"n": 1}, ["int1", "true", "float1"]),
    ({"n": True}, ["int1", "true", "float1"]),
    ({"n": {"$eq": 0}}, ["false"]),
    ({"n": {"$ne": 1}}, ["false", "str", "missing", "none", "list", "dict"]),
    ({"n": {"$gt": 0.5, "$lte": 1}}, ["int1", "true", "float1"]),
    ({"n": {"$gte": 0}}, ["int1", "true", "float1", "false"]),
    ({"n": {"$lt": "b"}}, ["str"]),
    ({"n": None}, ["missing", "none"]),
    ({"n": [1, 2]}, ["list"]),
    ({"n": {"a": {"$gt": 1}}}, ["dict"]),
    ({"n": {"a": 2}, "tag": "x"}, ["dict"]),
])
def test_filters(store: MemstackStore, flt: dict, keys: list[str]) -> None:
    values = {"int1": 1, "true": True, "float1": 1.0, "false": False, "str": "a",
              "none": None, "list": [1, 2.0], "dict": {"a": 2}}
    for key, v in values.items():
        store.put(NS, key, {"n": v, "tag": "x"})
    store.put(NS, "missing", {"tag": "x"})
    assert sorted(i.key for i in store.search(NS, filter=flt, limit=50)) == sorted(keys)
    assert sorted(i.key for i in store.search(NS, query="x", filter=flt, limit=50)) == \
        sorted(keys)


def test_unknown_operator_is_refused(store: MemstackStore) -> None:
    with pytest.raises(ValueError, match=r"\$in"):
        store.search(NS, filter={"n": {"$in": [1]}})


def test_pagination_without_query_is_stable(store: MemstackStore) -> None:
    for i in range(12):
        store.put(NS, f"k{i:02}", {"i": i})
    pages = [store.search(NS, limit=5, offset=o) for o in (0, 5, 10)]
    keys = [i.key for p in pages for i in p]
    assert sorted(keys) == [f"k{i:02}" for i in range(12)] and len(set(keys)) == 12
    assert sorted(i.key for i in store.search(NS, filter={"i": {"$gte": 10}})) == ["k10", "k11"]


def test_list_namespaces(store: MemstackStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f"),
               ("a", "c", "f")]:
        store.put(ns, "k", {"x": 1})
    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")]
    assert store.list_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d", "e"),
                                                        ("a", "b", "d", "i")]
    store.delete(("a", "c", "f"), "k")
    assert ("a", "c", "f") not in store.list_namespaces()


def test_batch_reads_before_writes_last_write_wins(store: MemstackStore) -> None:
    store.put(NS, "k", {"v": 0})
    out = store.batch([PutOp(NS, "k", {"v": 1}), GetOp(NS, "k"), PutOp(NS, "k", {"v": 2}),
                       SearchOp(NS, filter={"v": 0})])
    assert out[0] is None and out[1].value == {"v": 0} and [i.key for i in out[3]] == ["k"]
    assert store.get(NS, "k").value == {"v": 2}


def test_async_api(store: MemstackStore) -> None:
    async def run() -> None:
        await store.aput(NS, "k", {"text": "async tea"})
        assert (await store.aget(NS, "k")).value == {"text": "async tea"}
        assert [i.key for i in await store.asearch(NS, query="tea")] == ["k"]
        assert await store.alist_namespaces() == [NS]
        await store.adelete(NS, "k")
        assert await store.aget(NS, "k") is None

    asyncio.run(run())


def test_invalid_namespaces_and_values(store: MemstackStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"x": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b",), "k")])  # ops given to batch directly are checked too
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"x": 1})
    with pytest.raises(ValueError, match="JSON-serializable"):
        store.put(NS, "k", {"x": object()})
    with pytest.raises(ValueError, match="bytes as JSON"):
        store.put(NS, "k", {"x": "y" * 60_000})
    assert store.get(NS, "k") is None


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


def test_ttl_expires_refreshes_and_sweeps(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(store_module, "time", clock)
    store = MemstackStore(memory, ttl={"default_ttl": 10})
    store.put(NS, "default", {"x": 1})
    store.put(NS, "short", {"x": 2}, ttl=1)
    store.put(NS, "forever", {"x": 3}, ttl=None)
    clock.now += 61
    assert store.get(NS, "short") is None
    assert sorted(i.key for i in store.search(NS)) == ["default", "forever"]
    clock.now += 8 * 60  # default: 1 min left of 10 → a read refreshes it
    assert store.get(NS, "default") is not None
    clock.now += 5 * 60  # 14 min after the put, 5 after the read
    assert store.get(NS, "default", refresh_ttl=False) is not None
    clock.now += 6 * 60
    assert store.get(NS, "default") is None
    assert store.sweep_ttl() == 2  # short and default were still stored
    assert [m.metadata["lg_key"] for m in memory.get_all(agent_id="langgraph").results] == \
        ["forever"]
    store.put(NS, "forever", {"x": 3}, ttl=1)
    store.put(NS, "forever", {"x": 4}, ttl=None)  # ttl=None drops the expiry
    clock.now += 3600
    assert MemstackStore(memory).get(NS, "forever").value == {"x": 4}


def test_pages_when_python_settles_the_filter(store: MemstackStore) -> None:
    """Nested filters are narrowed by the backend and decided in Python: pages stay exact."""
    for i in range(30):
        store.put(NS, f"k{i:02}", {"n": {"a": i % 3}, "i": i})
    want = sorted(f"k{i:02}" for i in range(30) if i % 3 == 1)
    pages = [[it.key for it in store.search(NS, filter={"n": {"a": 1}}, limit=4, offset=o)]
             for o in range(0, 12, 4)]
    assert [len(p) for p in pages] == [4, 4, 2]
    assert sorted(k for p in pages for k in p) == want
    hits = store.search(NS, query="a", filter={"n": {"a": 1}, "i": {"$gt": 20}}, limit=50)
    assert sorted(h.key for h in hits) == ["k22", "k25", "k28"]


def test_threads_writing_the_same_keys_leave_one_memory_per_key(store: MemstackStore,
                                                                 memory: Memory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(t: int) -> None:
        for i in range(6):
            store.put(NS, f"k{i}", {"text": f"written by {t}", "i": i})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    mems = memory.get_all(user_id="alice", agent_id="langgraph").results
    assert sorted(m.metadata["lg_key"] for m in mems) == [f"k{i}" for i in range(6)]
    assert all(store.get(NS, f"k{i}").value["i"] == i for i in range(6))
