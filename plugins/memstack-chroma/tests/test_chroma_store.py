"""The `chroma` store on a real Chroma: round trips, replacement, batches, scores, pages, errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from memstack import capabilities as caps
from memstack.errors import DimensionMismatch, InvalidInput, StoreError
from memstack.filters import parse_filter
from memstack.models import Record
from memstack.vectors import cosine

ROUND_TRIP: dict[str, Any] = {
    "text": "the user likes green tea",
    "unicode": "naïve café — 東京 🍵 \u0000 nul",
    "empty": "",
    "big_text": "é" * 50_000 + "x" * 50_000,
    "int": 7,
    "negative": -3,
    "zero": 0,
    "float": 2.5,
    "float_whole": 3.0,
    "tiny": 1e-300,
    "true": True,
    "false": False,
    "int_2_53": 2**53,
    "int_2_53_plus_1": 2**53 + 1,
    "int_2_63": 2**63,
    "int_2_53_minus_1": 2**53 - 1,
    "float_17_digits": 123456789.12345679,
    "float_neighbour": 123456789.1234568,
    "float_third": 1 / 3,
    "negative_zero": -0.0,
    "infinity": math.inf,
    "minus_infinity": -math.inf,
    "int_huge": -(10**30),
    "strings": ["a", "b", "a"],
    "ints": [1, 2, 3],
    "floats": [1.0, 2.5],
    "mixed": [1, 1.0, "1", True, None],
    "bools": [True, False],
    "empty_list": [],
    "nested": {"k": [1, {"x": "y"}]},
    "none": None,
    "not identifier": 1,
    "memstack:j:spoof": "user key that looks reserved",
    "": "empty key",
    "trailing_newline\n": "not an identifier",
}


def rec(rid: str, vector: list[float], **payload: Any) -> Record:
    return Record(id=rid, vector=vector, payload=payload)


def test_payload_types_round_trip_exactly(store):
    store.upsert([Record(id="r1", vector=[1, 0, 0, 0], payload=ROUND_TRIP)])
    for got in (store.get(["r1"])[0].payload, store.list()[0].payload,
                store.query([1, 0, 0, 0], limit=1)[0].payload):
        assert got == ROUND_TRIP
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in ROUND_TRIP.items()}
        assert [type(x) for x in got["mixed"]] == [int, float, str, bool, type(None)]
        assert math.copysign(1.0, got["negative_zero"]) == -1.0


def test_nan_round_trips_and_equals_nothing(store):
    store.upsert([rec("nan", [1, 0, 0, 0], x=math.nan), rec("one", [0, 1, 0, 0], x=1.0)])
    assert math.isnan(store.get(["nan"])[0].payload["x"])
    assert [r.id for r in store.list(filters=parse_filter({"x": {"ne": 1}}))] == ["nan"]
    assert store.count(parse_filter({"x": {"gte": -1e300}})) == 1
    assert store.count(parse_filter({"NOT": {"x": {"gte": -1e300}}})) == 1


def test_the_payload_stays_filterable_after_encoding(store):
    store.upsert([Record(id="r1", vector=[1, 0, 0, 0], payload=ROUND_TRIP),
                  rec("r2", [0, 1, 0, 0], int=8, strings=["c"])])
    assert [r.id for r in store.list(filters=parse_filter({"int": 7.0}))] == ["r1"]
    assert [r.id for r in store.list(filters=parse_filter({"int_2_53": {"lt": 2**53}}))] == []
    assert [r.id for r in store.list(filters=parse_filter({"int_2_53_plus_1": {"gt": 2**53}}))
            ] == ["r1"]
    assert [r.id for r in store.list(filters=parse_filter({"strings": {"contains": "a"}}))] == [
        "r1"]
    assert [r.id for r in store.list(filters=parse_filter({"mixed": {"contains": True}}))] == [
        "r1"]
    assert store.count(parse_filter({"none": {"ne": 1}})) == 0  # None counts as missing
    assert store.count(parse_filter({"NOT": {"none": {"eq": 1}}})) == 2


def test_upsert_replaces_the_whole_record(store):
    store.upsert([rec("a", [1, 0, 0, 0], keep=1, drop="x", tags=["t"], n=None)])
    store.upsert([rec("a", [0, 1, 0, 0], keep=2)])
    [got] = store.get(["a"], with_vectors=True)
    assert got.payload == {"keep": 2}
    assert got.vector == pytest.approx([0, 1, 0, 0])
    assert store.count(parse_filter({"drop": "x"})) == 0
    assert store.count(parse_filter({"tags": {"contains": "t"}})) == 0
    assert store.count(parse_filter({"drop": {"ne": "y"}})) == 0
    store.upsert([Record(id="a", vector=[0, 0, 1, 0], payload={})])
    assert store.get(["a"])[0].payload == {}
    assert store.count() == 1


def test_repeated_ids_in_one_batch_keep_the_last(store):
    store.upsert([rec("a", [1, 0, 0, 0], v=1), rec("b", [0, 1, 0, 0], v=2),
                  rec("a", [0, 0, 1, 0], v=3)])
    assert {r.id: r.payload["v"] for r in store.get(["a", "b"])} == {"a": 3, "b": 2}
    assert store.count() == 2


def test_writes_are_split_at_the_batch_size(store):
    store.max_batch_size = 7  # the real limit is ~5,461; a small one shows the split is right
    records = [rec(f"id-{i:03d}", [1, i, 0, 1], i=i) for i in range(50)]
    store.upsert(records)
    assert store.count() == 50
    got = store.get([r.id for r in reversed(records)])
    assert [r.id for r in got] == [r.id for r in reversed(records)]
    assert [r.payload["i"] for r in got] == list(range(49, -1, -1))
    store.delete([r.id for r in records[:30]])
    assert store.count() == 20


def test_pages_neither_repeat_nor_skip(make_store):
    store = make_store("disk")
    store.upsert([rec(f"r{i}", [1, i % 5, 0, 0], even=i % 2 == 0) for i in range(23)])
    store.upsert([rec("r4", [0, 1, 0, 0], even=True)])  # a replaced record keeps its place
    store.delete(["r7"])
    full = [r.id for r in store.list()]
    assert len(full) == 22 and len(set(full)) == 22
    pages = [r.id for off in range(0, 30, 5) for r in store.list(limit=5, offset=off)]
    assert pages == full
    even = parse_filter({"even": True})
    full_even = [r.id for r in store.list(filters=even)]
    assert len(full_even) == 12
    assert [r.id for off in range(0, 15, 4) for r in store.list(filters=even, limit=4, offset=off)
            ] == full_even
    assert store.list(limit=0) == []
    assert [r.id for r in store.list(offset=20)] == full[20:]
    with pytest.raises(InvalidInput):
        store.list(offset=-1)


def test_reset_empties_the_collection_and_leaves_no_lists_behind(store):
    store.upsert([rec(f"r{i}", [1, 0, 0, 0], tags=["old", f"t{i}"], n=i) for i in range(10)])
    store.reset()
    assert store.count() == 0 and store.list() == []
    store.upsert([rec(f"s{i}", [1, 0, 0, 0], n=i) for i in range(10)])
    assert store.count(parse_filter({"tags": {"contains": "old"}})) == 0
    assert all(set(r.payload) == {"n"} for r in store.list())


def test_lists_left_behind_by_chroma_delete_collection_are_ignored(make_store, mode):
    """chroma-core/chroma#7594: after `delete_collection`, new records inherit list metadata."""
    first = make_store(mode)
    first.upsert([rec(f"r{i}", [1, 0, 0, 0], tags=["ghost"], n=i) for i in range(5)])
    first._client.delete_collection(first.collection_name)
    second = make_store(mode)
    second.upsert([rec(f"q{i}", [1, 0, 0, 0], n=i) for i in range(5)])
    assert all(r.payload == {"n": i} for i, r in enumerate(second.list()))
    assert second.count(parse_filter({"tags": {"contains": "ghost"}})) == 0
    assert second.count(parse_filter({"NOT": {"n": {"ne": 1}}})) == 1


def test_bad_vectors_are_typed_errors(make_store):
    store = make_store("memory")
    with pytest.raises(DimensionMismatch):
        store.upsert([rec("a", [1, 0, 0, 0]), rec("b", [1, 0, 0])])
    with pytest.raises(InvalidInput):
        store.upsert([rec("a", [1, 0, 0, 0]), rec("b", [1, math.nan, 0, 0])])
    with pytest.raises(InvalidInput):
        store.upsert([rec("a", [1e39, 0, 0, 0])])  # beyond float32
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="a", vector=None)])
    assert store.count() == 0


@pytest.mark.parametrize("payload", [
    {"x": object()}, {"x": [1, object()]}, {"many": [f"v{i}" for i in range(5000)]},
])
def test_payloads_chroma_cannot_hold_are_refused_before_writing(store, payload):
    store.upsert([rec("ok", [1, 0, 0, 0], tags=["a"])])
    with pytest.raises(InvalidInput):
        store.upsert([rec("bad", [1, 0, 0, 0], **payload)])
    store.upsert([rec("after", [0, 1, 0, 0], tags=["b"])])  # the collection still works
    assert [r.id for r in store.get(["ok", "bad", "after"])] == ["ok", "after"]


def test_capabilities_follow_the_mode(make_store):
    disk, server, memory = (make_store(m) for m in ("disk", "server", "memory"))
    for s in (disk, server, memory):
        assert {caps.FILTER_NOT, caps.FILTER_OR, "filter:contains", "filter:nin"} <= s.capabilities
        assert caps.ALL_FILTER_CAPS <= s.capabilities
        assert caps.EXACT_SEARCH not in s.capabilities
    assert caps.PERSISTENT in disk.capabilities and caps.MULTIPROCESS not in disk.capabilities
    assert {caps.PERSISTENT, caps.MULTIPROCESS} <= server.capabilities
    assert caps.PERSISTENT not in memory.capabilities
    assert caps.MULTIPROCESS not in memory.capabilities


@pytest.mark.parametrize("mode", ["disk", "server"])
def test_data_survives_reopening(make_store, chroma_config, mode):
    config = chroma_config(mode)
    from memstack.registry import get_registry

    first = get_registry().build("vector_store", "chroma", config)
    first.upsert([rec("a", [1, 0, 0, 0], tags=["x"], n=1)])
    first.close()
    first.close()  # idempotent
    with pytest.raises(StoreError):
        first.count()
    second = get_registry().build("vector_store", "chroma", config)
    try:
        assert second.get(["a"])[0].payload == {"tags": ["x"], "n": 1}
        assert second.count(parse_filter({"tags": {"contains": "x"}})) == 1
        with pytest.raises(DimensionMismatch):
            get_registry().build("vector_store", "chroma", {**config, "dimension": 8})
    finally:
        second.close()


def test_memory_stores_are_private_and_dropped_on_close(make_store):
    a = make_store("memory", collection="shared-name")
    b = make_store("memory", collection="shared-name")
    a.upsert([rec("x", [1, 0, 0, 0])])
    assert b.count() == 0 and a.count() == 1
    a.close()
    c = make_store("memory", collection="shared-name")
    assert c.count() == 0


def test_no_embedding_function_and_no_telemetry(store):
    assert store._collection._embedding_function is None
    assert store._client.get_settings().anonymized_telemetry is False
    assert store._collection.configuration_json["hnsw"]["space"] == "cosine"




def test_zero_vectors_score_zero(make_store):
    store = make_store("memory")
    store.upsert([rec("zero", [0, 0, 0, 0]), rec("x", [1, 0, 0, 0])])
    scores = {h.id: h.score for h in store.query([1, 0, 0, 0], limit=5)}
    assert scores["x"] == pytest.approx(1.0, abs=1e-6)
    assert scores["zero"] == pytest.approx(cosine([1, 0, 0, 0], [0, 0, 0, 0]))  # 0.0
    assert [h.score for h in store.query([0, 0, 0, 0], limit=5)] == pytest.approx([0.0, 0.0])
