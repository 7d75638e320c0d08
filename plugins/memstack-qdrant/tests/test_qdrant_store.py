"""The `qdrant` store in local mode: CRUD, scores, paging, batching, round-trips, persistence."""

from __future__ import annotations

import math
import threading

import pytest
from qdrant_helpers import DIM, build

from memstack import capabilities as caps
from memstack.errors import DimensionMismatch, InvalidInput, StoreError
from memstack.models import Record
from memstack.protocols import VectorStore
from memstack.vectors import cosine


def rec(i: int | str, vector=None, **payload) -> Record:
    rid = str(i)
    if vector is None:
        n = int(i) if str(i).isdigit() else len(rid)
        vector = [1.0, (n % 7) / 7.0, (n % 3) / 3.0, 0.5]
    return Record(id=rid, vector=vector, payload=payload)


def test_is_a_vector_store(store):
    assert isinstance(store, VectorStore)
    assert store.dimension == DIM
    assert caps.EXACT_SEARCH in store.capabilities
    assert caps.FILTER_RANGE_STR not in store.capabilities


def test_capabilities_per_mode(mem_store, path_store):
    assert caps.PERSISTENT not in mem_store.capabilities
    assert caps.PERSISTENT in path_store.capabilities
    assert caps.MULTIPROCESS not in path_store.capabilities
    server = build({"url": "http://127.0.0.1:1"})
    assert {caps.PERSISTENT, caps.MULTIPROCESS} <= server.capabilities
    assert caps.EXACT_SEARCH not in server.capabilities  # HNSW is approximate
    assert caps.EXACT_SEARCH in build({"url": "http://127.0.0.1:1", "exact": True}).capabilities


def test_arbitrary_string_ids_round_trip(store):
    ids = ["a", "mem-1", "550e8400-e29b-41d4-a716-446655440000", "ünï cödé 🧠", "x" * 500, "42"]
    store.upsert([rec(i, vector=[1.0, float(n), 0.0, 1.0]) for n, i in enumerate(ids)])
    assert [r.id for r in store.get(ids)] == ids
    assert sorted(r.id for r in store.list()) == sorted(ids)
    assert {h.id for h in store.query([1, 0, 0, 1], limit=10)} == set(ids)


def test_reserved_keys_are_hidden_and_refused(store):
    store.upsert([rec(1, tags=["a"], n=1)])
    (got,) = store.get(["1"])
    assert got.payload == {"tags": ["a"], "n": 1}
    assert store.list()[0].payload == {"tags": ["a"], "n": 1}
    assert store.query([1, 0, 0, 0], limit=1)[0].payload == {"tags": ["a"], "n": 1}
    with pytest.raises(InvalidInput, match="_memstack_id"):
        store.upsert([rec(2, _memstack_id="evil")])


def test_scores_are_cosine_similarity_sorted_descending(store):
    vectors = {
        "same": [1.0, 2.0, 3.0, 4.0],
        "scaled": [2.0, 4.0, 6.0, 8.0],
        "opposite": [-1.0, -2.0, -3.0, -4.0],
        "orthogonal": [2.0, -1.0, 0.0, 0.0],
        "mixed": [1.0, 0.0, 3.0, -1.0],
        "zero": [0.0, 0.0, 0.0, 0.0],
    }
    store.upsert([Record(id=k, vector=v) for k, v in vectors.items()])
    q = [1.0, 2.0, 3.0, 4.0]
    hits = store.query(q, limit=10)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        assert h.score == pytest.approx(cosine(q, vectors[h.id]), abs=1e-5)
    assert hits[-1].id == "opposite" and hits[-1].score == pytest.approx(-1.0, abs=1e-5)
    assert [h.id for h in store.query(q, limit=2)] == sorted(["same", "scaled"])
    assert store.query(q, limit=0) == []


def test_get_keeps_order_skips_missing_and_returns_vectors(store):
    store.upsert([rec(i) for i in range(5)])
    got = store.get(["3", "nope", "0", "3", "4"])
    assert [r.id for r in got] == ["3", "0", "4"]
    assert all(r.vector is None for r in got)
    v = [0.3, -1.5, 2.25, 10.0]
    store.upsert([Record(id="v", vector=v)])
    (back,) = store.get(["v"], with_vectors=True)
    assert back.vector == pytest.approx(v, rel=1e-6)  # unit vector (float32) times stored norm
    assert store.get([]) == []


def test_upsert_replaces_and_delete_removes(store):
    store.upsert([rec(1, text="old", keep=True), rec(2)])
    store.upsert([rec(1, text="new")])
    assert store.get(["1"])[0].payload == {"text": "new"}
    assert store.count() == 2
    store.delete(["1", "missing"])
    assert [r.id for r in store.get(["1", "2"])] == ["2"]
    assert store.count() == 1
    store.delete([])
    assert store.count() == 1


def test_same_id_twice_in_one_call_keeps_the_last(store):
    store.upsert([rec(1, v="first"), rec(1, v="second")])
    assert store.count() == 1
    assert store.get(["1"])[0].payload == {"v": "second"}


def test_payload_types_round_trip_exactly(store):
    payload = {
        "s": "text",
        "i": 7,
        "zero_i": 0,
        "f": 1.0,
        "f2": 2.5,
        "neg": -3.25,
        "big_i": 2**53,
        "t": True,
        "fa": False,
        "list_s": ["a", "b"],
        "list_mixed": [1, 1.0, "1", True],
        "empty_list": [],
        "none": None,
        "uni": "日本語 — ünïcödé 🧠 \u0000 end",
        "quote": "x' OR '1'='1",
        "large": "é" * 50_000 + "z" * 50_000,
    }
    store.upsert([Record(id="p", vector=[1, 2, 3, 4], payload=payload)])
    for got in (store.get(["p"])[0].payload, store.list()[0].payload,
                store.query([1, 2, 3, 4], limit=1)[0].payload):
        assert got == payload
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in payload.items()}
        assert [type(x) for x in got["list_mixed"]] == [int, float, str, bool]


def test_list_pages_are_stable_and_complete(store):
    store.upsert([rec(i, n=i % 3) for i in range(57)])
    everything = [r.id for r in store.list()]
    assert sorted(everything, key=int) == [str(i) for i in range(57)]
    assert [r.id for r in store.list()] == everything  # stable order
    pages = [store.list(limit=10, offset=o) for o in range(0, 60, 10)]
    assert [len(p) for p in pages] == [10, 10, 10, 10, 10, 7]
    assert [r.id for p in pages for r in p] == everything
    assert [r.id for r in store.list(offset=50)] == everything[50:]
    assert store.list(limit=5, offset=57) == []
    assert store.list(limit=0) == []
    # paging a filtered list
    filt = {"n": 1}
    from memstack.filters import parse_filter

    node = parse_filter(filt)
    matching = [r.id for r in store.list(filters=node)]
    assert len(matching) == 19 == store.count(node)
    paged = [r.id for o in range(0, 19, 4) for r in store.list(filters=node, limit=4, offset=o)]
    assert paged == matching


def test_list_offset_across_scroll_pages(mem_store, monkeypatch):
    """Offsets and limits larger than one scroll page (the cursor must land exactly)."""
    import memstack_qdrant.store as qstore

    monkeypatch.setattr(qstore, "_SCROLL_PAGE", 7)
    mem_store.upsert([rec(i) for i in range(40)])
    everything = [r.id for r in mem_store.list()]
    assert len(everything) == 40
    assert [r.id for r in mem_store.list(offset=15, limit=17)] == everything[15:32]
    assert [r.id for r in mem_store.list(offset=14)] == everything[14:]
    assert [r.id for r in mem_store.get(everything[::-1])] == everything[::-1]


def test_negative_limit_or_offset_is_refused(mem_store):
    with pytest.raises(InvalidInput):
        mem_store.list(offset=-1)
    with pytest.raises(InvalidInput):
        mem_store.list(limit=-2)
    with pytest.raises(InvalidInput):
        mem_store.query([1, 0, 0, 0], limit=-1)


def test_batches_are_split(tmp_path):
    store = build({"location": ":memory:", "batch_size": 7})
    calls: list[int] = []
    real = store._client.upsert

    def counting(collection_name, points, **kw):
        calls.append(len(points))
        return real(collection_name, points=points, **kw)

    store._client.upsert = counting
    store.upsert([rec(i) for i in range(50)])
    assert calls == [7] * 7 + [1]
    assert store.count() == 50
    store.delete([str(i) for i in range(45)])
    assert store.count() == 5
    store.close()


def test_bad_vectors_raise_typed_errors(store):
    with pytest.raises(DimensionMismatch):
        store.upsert([Record(id="a", vector=[1.0, 2.0])])
    with pytest.raises(InvalidInput, match="NaN"):
        store.upsert([Record(id="a", vector=[1.0, math.nan, 0.0, 0.0])])
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="a", vector=None)])
    with pytest.raises(InvalidInput):
        store.upsert([Record(id="", vector=[1.0, 0, 0, 0])])
    with pytest.raises(DimensionMismatch):
        store.query([1.0] * 5, limit=3)
    with pytest.raises(InvalidInput):
        store.query([math.inf, 0, 0, 0], limit=3)
    assert store.count() == 0


def test_reset_empties_and_store_stays_usable(store):
    store.upsert([rec(i) for i in range(5)])
    store.reset()
    assert store.count() == 0
    assert store.list() == []
    store.upsert([rec(9)])
    assert [r.id for r in store.list()] == ["9"]


def test_persistence_across_close_and_reopen(path_config):
    first = build(path_config)
    first.upsert([rec(i, n=i, tags=["x"]) for i in range(10)])
    first.close()
    first.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        first.count()
    again = build(path_config)
    assert again.count() == 10
    assert again.get(["3"])[0].payload == {"n": 3, "tags": ["x"]}
    # local mode reloads the vectors as written (not unit length): still the vector written
    written = rec(3, n=3, tags=["x"]).vector
    assert again.get(["3"], with_vectors=True)[0].vector == pytest.approx(written, rel=1e-6)
    again.close()
    # dimension may be omitted when the collection exists; a different one is refused
    adopt = build({**path_config, "dimension": None})
    assert adopt.dimension == DIM
    adopt.close()
    mismatched = build({**path_config, "dimension": DIM + 1})
    with pytest.raises(DimensionMismatch):
        mismatched.count()
    # Closing after the refusal releases the folder's client (left open, Qdrant's __del__
    # complained at interpreter shutdown in every CI log).
    mismatched.close()


def test_second_client_on_same_folder_is_a_clear_store_error(path_store, path_config):
    path_store.count()
    with pytest.raises(StoreError) as info:
        build(path_config)
    assert "qdrant" in str(info.value)
    assert "one client" in str(info.value)
    assert info.value.__cause__ is not None


def test_missing_dimension_for_new_collection(tmp_path):
    store = build({"location": ":memory:", "dimension": None})
    with pytest.raises(InvalidInput, match="dimension"):
        store.count()


def test_concurrent_threads(mem_store):
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(20):
                mem_store.upsert([rec(f"{t}-{i}", vector=[1.0, t, i, 1.0], t=t)])
                mem_store.query([1.0, t, i, 1.0], limit=3)
                mem_store.count()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert mem_store.count() == 80


@pytest.mark.parametrize(("fast", "mode"), [(True, "wal"), (False, "delete")])
def test_local_disk_journal_mode(tmp_path, fast, mode):
    """fast_local_writes puts the local SQLite file in WAL mode (no fsync per point)."""
    import sqlite3

    store = build({"path": str(tmp_path / "q"), "collection": "t", "fast_local_writes": fast})
    store.upsert([rec(i) for i in range(3)])
    files = list((tmp_path / "q").rglob("storage.sqlite"))
    assert len(files) == 1
    conn = sqlite3.connect(files[0])
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == mode
    finally:
        conn.close()
    assert store.count() == 3
    store.close()


def test_server_mode_adds_keyword_indexes(mem_store):
    """Server mode indexes the scope fields and the non-scalar key when it creates a collection,
    and the token counts (an integer index: the keyword side's facet reads it).

    No server runs here: the local client stands in, and the index call (a no-op in local mode)
    is recorded after checking it binds to the real client method's signature.
    """
    import inspect

    from memstack_qdrant.config import QdrantStoreConfig
    from qdrant_client import QdrantClient

    mem_store.config = QdrantStoreConfig(url="http://127.0.0.1:1", collection="t", dimension=DIM)
    signature = inspect.signature(QdrantClient.create_payload_index)
    calls: list[tuple[str, str]] = []

    def record(*args, **kwargs):
        bound = signature.bind(mem_store._client, *args, **kwargs)
        calls.append((bound.arguments["field_name"], str(bound.arguments["field_schema"])))

    mem_store._client.create_payload_index = record
    assert mem_store.count() == 0
    assert calls == [*((f, "keyword") for f in
                       ("user_id", "agent_id", "run_id", "_memstack_nonscalar")),
                     ("_memstack_kwlen", "integer")]
