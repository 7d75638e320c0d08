"""The `milvus` store on Milvus Lite: CRUD, paging, persistence, limits, errors, packaging."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import textwrap
import threading
from typing import Any

import memstack_milvus.store as store_module
import pytest
from memstack_milvus.config import MilvusStoreConfig
from milvus_helpers import DIM, build_store

from memstack.errors import ConfigError, DimensionMismatch, InvalidInput, StoreError
from memstack.filters import parse_filter
from memstack.models import Record
from memstack.registry import get_registry


def rec(i: Any, payload: dict | None = None, vector: list[float] | None = None) -> Record:
    rid = i if isinstance(i, str) else f"id{i:03d}"
    n = len(rid)
    return Record(id=rid, vector=vector or [1.0, float(n % 5), 0.5, -1.0],
                  payload={"n": n} if payload is None else payload)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


# --- packaging -----------------------------------------------------------------------------------
def test_importing_the_plugin_loads_no_backend_library() -> None:
    out = run_python("""
        import sys
        import memstack_milvus, memstack_milvus.plugin, memstack_milvus.config
        heavy = [m for m in ("pymilvus", "milvus_lite", "numpy", "grpc", "pandas")
                 if m in sys.modules]
        print(heavy)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_registered_through_the_entry_point() -> None:
    spec = get_registry().get("vector_store", "milvus")
    assert spec.distribution == "memstack-milvus"
    assert spec.config_model is MilvusStoreConfig
    assert {"filter:not", "filter:range_str", "filter:contains", "persistent"} <= spec.capabilities


# --- config --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [
    {"uri": "memories.sqlite"},
    {"uri": "ftp://host:19530"},
    {"uri": "http://user:pw@host:19530"},
    {"uri": "x.db", "token": "t"},
    {"collection": "1abc"},
    {"collection": "has-dash"},
    {"db_name": "bad name"},
    {"unknown": 1},
])
def test_bad_config_is_refused_before_connecting(bad: dict) -> None:
    with pytest.raises(ConfigError):
        get_registry().validate_config("vector_store", "milvus", {"dimension": DIM, **bad})


def test_token_never_shown() -> None:
    config = MilvusStoreConfig(uri="http://127.0.0.1:1", token="s3cret-token", dimension=DIM,
                               timeout=1)
    assert "s3cret-token" not in repr(config) and "s3cret-token" not in str(config)
    assert "s3cret-token" not in config.model_dump_json()
    with pytest.raises(StoreError) as err:
        build_store(uri="http://127.0.0.1:1", token="s3cret-token", timeout=1)
    assert "s3cret-token" not in str(err.value)
    assert err.value.provider == "milvus" and err.value.__cause__ is not None


def test_defaults_pick_flat_on_lite_and_hnsw_on_a_server() -> None:
    assert MilvusStoreConfig(uri="a.db").resolved_index_type == "FLAT"
    assert MilvusStoreConfig(uri="http://localhost:19530").resolved_index_type == "HNSW"
    assert MilvusStoreConfig().uri.endswith("milvus.db")


# --- records -------------------------------------------------------------------------------------
def test_get_returns_existing_records_in_the_order_asked(store) -> None:
    store.upsert([rec(i) for i in range(5)])
    got = store.get(["id003", "missing", "id000", "id003", "", "id004"])
    assert [r.id for r in got] == ["id003", "id000", "id004"]
    assert got[0].payload == {"n": 5} and got[0].vector is None


def test_vectors_come_back_as_float32(store) -> None:
    vector = [0.1, -0.2, 0.3, 1e-3]
    store.upsert([rec("v", vector=vector)])
    (got,) = store.get(["v"], with_vectors=True)
    assert got.vector == pytest.approx(vector, rel=1e-6)


def test_upsert_replaces_and_last_write_in_a_call_wins(store) -> None:
    store.upsert([rec("a", {"v": 1}), rec("b", {"v": 1})])
    store.upsert([rec("a", {"v": 2}), rec("a", {"v": 3})])
    assert {r.id: r.payload["v"] for r in store.get(["a", "b"])} == {"a": 3, "b": 1}
    assert store.count() == 2


def test_every_write_is_visible_to_the_next_read(store) -> None:
    for i in range(15):
        store.upsert([rec(i, {"i": i})])
        assert store.count() == i + 1
        assert store.get([f"id{i:03d}"])[0].payload == {"i": i}
        assert store.query([1, 0, 0.5, -1], limit=1, filters=parse_filter({"i": i}))[0].payload
    store.delete(["id000"])
    assert store.get(["id000"]) == [] and store.count() == 14
    assert store.count(parse_filter({"i": 0})) == 0


def test_delete_ignores_missing_ids_and_deletes_nothing_else(store) -> None:
    tricky = ["x' or true or '", '") or true', 'q"', "a\\b", "é", "😀", "\ud800", "id == id"]
    store.upsert([rec(i) for i in [*tricky, "victim"]])
    store.delete(["x' or true or '", "never-there"])
    assert store.count() == len(tricky)
    store.delete(['") or true', "id == id"])
    left = {r.id for r in store.list()}
    assert left == {'q"', "a\\b", "é", "😀", "\ud800", "victim"}


def test_any_string_is_an_id(store) -> None:
    ids = ["é", "😀 x", "\ud800", 'a"b', "\\", "\x00", "a" * 32_767, "é" * 20_000, " "]
    store.upsert([rec(i, {"k": j}) for j, i in enumerate(ids)])
    assert [r.id for r in store.get(ids)] == ids
    assert sorted(r.id for r in store.list()) == sorted(ids)
    q = store.get(ids[:1], with_vectors=True)[0].vector
    pairs = store.query_ids(q, limit=len(ids))  # hex keys decoded, the hashed one read back
    assert sorted(i for i, _ in pairs) == sorted(ids)
    assert pairs == [(h.id, h.score) for h in store.query(q, limit=len(ids))]
    store.delete(["é" * 20_000])  # over 32,767 UTF-8 bytes: stored under a hashed key
    assert store.count() == len(ids) - 1
    with pytest.raises(InvalidInput):
        store.upsert([rec("")])


def test_payload_values_round_trip_exactly(store) -> None:
    payload = {
        "text": "x" * 100_000 + "é😀" * 1000, "int": 7, "big": 2**70, "float": 0.1, "whole": 2.0,
        "neg0": -0.0, "t": True, "f": False, "none": None, "list": ["a", 1, 2.5, True],
        "empty": [], "nested": {"a": [1, {"b": "c"}]}, "unicode": "日本語 \u2028 \x00",
        "weird key!": "v", "inf": math.inf,
    }
    store.upsert([rec("p", payload)])
    (got,) = store.get(["p"])
    assert json.dumps(got.payload, sort_keys=True) == json.dumps(payload, sort_keys=True)
    assert type(got.payload["whole"]) is float and type(got.payload["int"]) is int
    (hit,) = store.query([1, 0, 0.5, -1], limit=1)
    assert hit.payload == payload
    assert store.count(parse_filter({"text": {"gt": "x" * 100_000}})) == 1


def test_filter_index_over_the_json_limit_is_a_typed_error(store) -> None:
    too_many = {f"k{i}": "y" * 400 for i in range(200)}
    with pytest.raises(InvalidInput, match="65,536"):
        store.upsert([rec("big", too_many)])
    assert store.count() == 0
    # keys that are not identifiers cannot be filtered on, so they stay out of the index
    store.upsert([rec("ok", {"all-tags": ["t" * 100] * 5000, "tag": "a"})])
    assert store.get(["ok"])[0].payload["all-tags"] == ["t" * 100] * 5000


def test_bad_vectors_are_typed_errors(store) -> None:
    with pytest.raises(DimensionMismatch):
        store.upsert([Record(id="a", vector=[1.0, 2.0])])
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="a", vector=[1.0, math.nan, 0, 0])])
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="a")])
    with pytest.raises(DimensionMismatch):
        store.query([1.0], limit=1)
    with pytest.raises(InvalidInput):
        store.upsert([rec("a", {"when": object()})])
    assert store.count() == 0


# --- search ------------------------------------------------------------------------------------
def test_query_scores_are_cosine_similarities_best_first(store) -> None:
    rng = random.Random(3)
    records = [rec(i, {"i": i}, [rng.uniform(-1, 1) for _ in range(DIM)]) for i in range(40)]
    store.upsert(records)
    q = [0.3, -0.1, 0.8, 0.2]
    hits = store.query(q, limit=10)
    expected = sorted(records, key=lambda r: -cosine(q, r.vector))[:10]
    assert [h.id for h in hits] == [r.id for r in expected]
    for h, r in zip(hits, expected, strict=True):
        assert h.score == pytest.approx(cosine(q, r.vector), abs=1e-5)
        assert h.payload == r.payload
    assert store.query(q, limit=0) == []
    filtered = store.query(q, limit=40, filters=parse_filter({"i": {"lt": 5}}))
    assert sorted(h.id for h in filtered) == [f"id{i:03d}" for i in range(5)]
    assert [h.score for h in filtered] == sorted((h.score for h in filtered), reverse=True)


def test_hnsw_index_works_and_is_not_declared_exact(make_store) -> None:
    store = make_store(index_type="HNSW", index_params={"M": 8, "efConstruction": 64},
                       search_params={"ef": 32})
    assert store.index_type == "HNSW" and "exact_search" not in store.capabilities
    store.upsert([rec(i, {"i": i}, [1.0, i / 10, 0.0, 0.0]) for i in range(30)])
    assert store.query([1.0, 0.0, 0.0, 0.0], limit=1)[0].id == "id000"


def test_capabilities_of_a_lite_store(store) -> None:
    assert "exact_search" in store.capabilities and "persistent" in store.capabilities
    assert "multiprocess" not in store.capabilities  # one process per Lite file
    assert store.dimension == DIM


# --- list / count --------------------------------------------------------------------------------
def test_list_pages_neither_repeat_nor_skip(make_store) -> None:
    store = make_store(page_size=4)
    ids = [f"k{i:02d}" for i in range(23)]
    random.Random(5).shuffle(ids)
    store.upsert([rec(i, {"even": int(i[1:]) % 2 == 0}) for i in ids])
    everything = [r.id for r in store.list()]
    assert everything == sorted(ids)  # ids in code-point order
    for size in (1, 5, 7):
        paged = []
        for offset in range(0, 30, size):
            paged += [r.id for r in store.list(limit=size, offset=offset)]
        assert paged == everything
    even = parse_filter({"even": True})
    assert [r.id for r in store.list(filters=even, limit=3, offset=2)] == \
        [i for i in everything if int(i[1:]) % 2 == 0][2:5]
    assert store.list(offset=23) == [] and store.list(limit=0) == []
    assert store.count(even) == 12 and store.count() == 23


def test_offsets_past_the_query_window(make_store, monkeypatch) -> None:
    """Offsets beyond Milvus' 16,384-row window are walked in windows (made small here)."""
    monkeypatch.setattr(store_module, "MAX_TOPK", 3)
    store = make_store(page_size=2)
    store.upsert([rec(i) for i in range(20)])
    assert [r.id for r in store.list(offset=10, limit=5)] == [f"id{i:03d}" for i in range(10, 15)]
    assert [r.id for r in store.list(offset=17)] == ["id017", "id018", "id019"]
    assert store.list(offset=21) == []


def test_lite_flushes_every_so_many_rows_written(make_store) -> None:
    """Unflushed Lite rows are scanned in Python by every search: the store flushes after
    `lite_flush_rows` rows written (upserts and deletes), and nothing changes for readers."""
    store = make_store(lite_flush_rows=5)
    flushes = []
    real = store._client.flush

    def counting(name: str, **kw: Any) -> Any:
        flushes.append(name)
        return real(name, **kw)

    store._client.flush = counting
    store.upsert([rec(i, {"text": f"word{i} common"}) for i in range(4)])
    assert flushes == []
    store.upsert([rec(i, {"text": f"word{i} common"}) for i in range(4, 7)])
    assert flushes == [store.collection]  # 7 rows written
    store.delete(["id000", "id001", "id002"])  # 3 since the flush
    assert flushes == [store.collection]
    store.upsert([rec(i, {"text": f"word{i} common"}) for i in range(7, 9)])  # 3 + 2
    assert flushes == [store.collection] * 2
    assert [r.id for r in store.list()] == [f"id{i:03d}" for i in range(3, 9)]
    assert [h.id for h in store.keyword_query("word4", limit=3)] == ["id004"]
    assert len(store.keyword_query("common", limit=10)) == 6
    never = make_store(lite_flush_rows=0)
    never._client.flush = counting
    never.upsert([rec(i) for i in range(20)])
    assert len(flushes) == 2 and never.count() == 20


def test_writes_are_split_into_batches(make_store) -> None:
    store = make_store(batch_size=3, batch_bytes=1024 * 1024)
    calls = []
    real = store._client.upsert

    def counting(name: str, rows: list, **kw: Any) -> Any:
        calls.append(len(rows))
        return real(name, rows, **kw)

    store._client.upsert = counting
    store.upsert([rec(i) for i in range(10)])
    assert calls == [3, 3, 3, 1]
    calls.clear()
    store.upsert([rec(f"big{i}", {"t": "z" * 300_000}) for i in range(5)])  # ~1.5 MB in all
    assert len(calls) >= 2 and sum(calls) == 5
    assert store.count() == 15


def test_concurrent_writers_in_threads(store) -> None:
    def write(t: int) -> None:
        for i in range(20):
            store.upsert([rec(f"t{t}-{i}", {"t": t})])

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert store.count() == 80 and store.count(parse_filter({"t": 2})) == 20


# --- lifecycle -----------------------------------------------------------------------------------
def test_reset_empties_and_keeps_working(store) -> None:
    store.upsert([rec(i) for i in range(3)])
    store.reset()
    assert store.count() == 0 and store.list() == []
    store.upsert([rec(9)])
    assert [r.id for r in store.list()] == ["id009"]


def test_closed_store_raises_a_typed_error(make_store) -> None:
    store = make_store()
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.count()


def test_reopen_in_the_same_process(lite_file) -> None:
    first = build_store(uri=lite_file, collection="keep")
    first.upsert([rec(i) for i in range(4)])
    second = build_store(uri=lite_file, collection="keep")  # another client while one is open
    assert second.count() == 4
    second.upsert([rec(7)])
    assert first.count() == 5
    first.close()
    second.close()
    third = build_store(uri=lite_file, collection="keep")
    assert [r.id for r in third.get(["id007", "id000"])] == ["id007", "id000"]
    third.close()


def test_reopen_in_another_process(lite_file) -> None:
    store = build_store(uri=lite_file, collection="keep")
    store.upsert([rec(i, {"i": i}) for i in range(3)])
    store.close()  # frees the file for the other process
    out = run_python(f"""
        from memstack.models import Record
        from memstack.registry import get_registry
        store = get_registry().build("vector_store", "milvus",
                                     {{"uri": {lite_file!r}, "collection": "keep",
                                       "dimension": {DIM}}})
        print(sorted(r.id for r in store.list()))
        store.upsert([Record(id="child", vector=[1, 0, 0, 0], payload={{"from": "child"}})])
        store.close()
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['id000', 'id001', 'id002']"
    again = build_store(uri=lite_file, collection="keep")
    assert again.get(["child"])[0].payload == {"from": "child"} and again.count() == 4
    again.close()


def test_a_file_open_in_another_process_is_a_clear_error(lite_file) -> None:
    store = build_store(uri=lite_file, collection="keep")
    try:
        out = run_python(f"""
            from memstack.errors import StoreError
            from memstack.registry import get_registry
            try:
                get_registry().build("vector_store", "milvus",
                                     {{"uri": {lite_file!r}, "dimension": {DIM}}})
            except StoreError as exc:
                print("StoreError", exc.provider, "one process" in str(exc))
        """)
    finally:
        store.close()
    assert out.stdout.strip() == "StoreError milvus True", out.stderr[-2000:]


def test_existing_collection_with_another_dimension(make_store, shared_uri) -> None:
    make_store(collection="dims")
    with pytest.raises(DimensionMismatch):
        build_store(uri=shared_uri, collection="dims", dimension=DIM + 1)


def test_foreign_collection_and_backend_errors_are_store_errors(make_store, shared_uri) -> None:
    from pymilvus import MilvusClient

    raw = MilvusClient(uri=shared_uri)  # the same in-process Lite server
    try:
        raw.create_collection("foreign", dimension=DIM)
        with pytest.raises(StoreError, match="not the layout"):
            build_store(uri=shared_uri, collection="foreign")
        store = make_store(collection="doomed")
        raw.drop_collection("doomed")  # behind the store's back
        with pytest.raises(StoreError) as err:
            store.count()
        assert err.value.provider == "milvus" and err.value.__cause__ is not None
        assert "doomed" in str(err.value)
    finally:
        raw.close()


def test_a_collection_left_without_index_is_repaired(make_store, shared_uri) -> None:
    """A creator that stopped between creating and indexing the collection leaves no trap."""
    from pymilvus import MilvusClient

    first = make_store(collection="half_made")
    first.upsert([rec(1)])
    raw = MilvusClient(uri=shared_uri)
    try:
        raw.release_collection("half_made")
        raw.drop_index("half_made", index_name=raw.list_indexes("half_made")[0])
        assert raw.list_indexes("half_made") == []
    finally:
        raw.close()
    again = make_store(collection="half_made")
    assert again.index_type == "FLAT" and "exact_search" in again.capabilities
    assert again.query([1, 0, 0.5, -1], limit=1)[0].id == "id001"
