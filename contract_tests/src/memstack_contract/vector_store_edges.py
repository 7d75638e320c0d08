"""Partial batches, two collections, edge data and precision (contract version 3, a mixin)."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from memstack import capabilities as caps
from memstack.errors import DimensionMismatch, InvalidInput, MemstackError
from memstack.models import Record
from memstack.protocols import Inserts
from memstack_contract import data, guard
from memstack_contract.base import Builder
from memstack_contract.data import assert_equal, payload_problem
from memstack_contract.filter_checks import check_filter_cases
from memstack_contract.versioning import contract

# Values that collide in float32 (16777216 == 16777217 == 16777216.0 there; epoch seconds ±1),
# Unicode look-alikes (NFC vs NFD 'é', the 'ﬁ' ligature, fullwidth digits) and near-equal floats.
EDGE_PAYLOADS: list[dict[str, Any]] = [
    {"n": 16777216, "ts": 1700000000, "s": "\u00e9", "x": 0.3},
    {"n": 16777217, "ts": 1700000001, "s": "e\u0301", "x": 0.1 + 0.2},
    {"n": 16777218, "ts": 1699999999, "s": "\ufb01", "x": 0.30000001},
    {"n": -16777217, "ts": 1700000002, "s": "fi", "x": 16777217.0},
    {"n": 2**53 - 1, "ts": 1700000000, "s": "\uff11\uff12", "x": 16777216.5},
    {"n": 2**53 - 2, "ts": 1700000003, "s": "12", "x": -0.0},
    {"n": 0, "ts": 0, "s": "E\u0301", "tags": ["\u00e9", "fi", "12"]},
    {"n": 1, "ts": 1700000001, "s": "\u00c9", "tags": ["e\u0301", "\ufb01", "\uff11\uff12"]},
]
EDGE_FILTERS: list[dict[str, Any]] = [
    {"n": 16777217}, {"n": 16777216}, {"n": {"gt": 16777216}}, {"n": {"lte": 16777216}},
    {"n": {"in": [16777217, 2**53 - 1]}}, {"n": {"ne": 16777216}}, {"n": {"nin": [16777217]}},
    {"n": {"gte": 2**53 - 1}}, {"n": {"lt": -16777216}},
    {"ts": 1700000001}, {"ts": {"gt": 1700000000}}, {"ts": {"lt": 1700000000}},
    {"ts": {"in": [1699999999, 1700000002]}},
    {"s": "\u00e9"}, {"s": "e\u0301"}, {"s": "fi"}, {"s": "\ufb01"}, {"s": "12"},
    {"s": {"in": ["\uff11\uff12", "\u00c9"]}}, {"s": {"ne": "\u00e9"}}, {"s": {"gt": "e"}},
    {"tags": {"contains": "\u00e9"}}, {"tags": {"contains": "\ufb01"}},
    {"tags": {"contains": "12"}},
    {"x": 0.3}, {"x": 0.30000000000000004}, {"x": {"gt": 0.3}}, {"x": 16777217.0},
    {"x": {"lt": 16777217}}, {"x": {"gte": 16777216.5}},
]
CASE_IDS = ["abc", "Abc", "ABC", "abc ", " abc", "abc\t", "a\u0062c\u00a0"]


def _vectors_close(a: list[float], b: list[float], tol: float) -> bool:
    """Same direction *and* the same components, once both are made unit length."""
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return all(abs(x / na - y / nb) <= tol for x, y in zip(a, b, strict=True))


@guard.suite_class
class EdgeTests:
    """Mixed into `VectorStoreContract`; relies on its `store`, `load`, `settled`, `tolerance`."""

    # ---- partial batches ------------------------------------------------------------------
    @contract(since=3, group="partial-batch")
    def test_bad_record_in_a_batch_writes_nothing(self, store: Any) -> None:
        """[good, bad, good] raises and stores none of them: the engine's two-phase write
        assumes a failed write changed nothing."""
        self.load(store, [Record(id="keep", vector=data.unit(0), payload={"v": 1})])
        nan = data.unit(1)
        nan[2] = math.nan
        bads = [(Record(id="bad", vector=nan, payload={}), InvalidInput),
                (Record(id="bad", vector=[0.5] * (self.dimension + 1), payload={}),
                 DimensionMismatch)]
        writes = [("upsert", store.upsert)]
        if caps.INSERT in self.caps(store) and isinstance(store, Inserts):
            writes.append(("insert", store.insert))
        for name, write in writes:
            for bad, error in bads:
                batch = [Record(id="g1", vector=data.unit(2), payload={"v": 2}), bad,
                         Record(id="g2", vector=data.unit(3), payload={"v": 3})]
                if name == "upsert":
                    batch.insert(0, Record(id="keep", vector=data.unit(4), payload={"v": 9}))
                with pytest.raises(error):
                    write(batch)
                assert store.get(["g1", "g2", "bad"]) == [], (
                    f"{name}([good, bad, good]) raised but wrote part of the batch")
                assert store.count() == 1, f"{name}: count changed by a failed batch"
                [keep] = store.get(["keep"])
                assert keep.payload == {"v": 1}, f"{name}: a failed batch replaced a record"

    # ---- two collections ------------------------------------------------------------------
    @contract(since=3, group="collections")
    def test_two_collections_in_one_storage(
        self, store: Any, make_provider: Builder, instance_config: dict[str, Any]
    ) -> None:
        """Same storage, two collections: separate data, list, count, query, delete and reset."""
        other = make_provider({**instance_config, "collection": f"ct_{uuid.uuid4().hex[:16]}"})
        mine = [Record(id="shared", vector=data.unit(0), payload={"c": "a"}),
                Record(id="only-a", vector=data.unit(1), payload={"c": "a"})]
        theirs = [Record(id="shared", vector=data.unit(2), payload={"c": "b"}),
                  Record(id="only-b", vector=data.unit(3), payload={"c": "b"}),
                  Record(id="only-b2", vector=data.unit(4), payload={"c": "b"})]
        self.load(store, mine)
        self.load(other, theirs)

        def apart() -> None:
            assert store.count() == 2 and other.count() == 3, "collections share records"
            assert sorted(r.id for r in store.list()) == ["only-a", "shared"]
            assert sorted(r.id for r in other.list()) == ["only-b", "only-b2", "shared"]
            assert store.get(["shared"])[0].payload == {"c": "a"}
            assert other.get(["shared"])[0].payload == {"c": "b"}
            assert {h.id for h in store.query(data.unit(3), limit=10)} == {"only-a", "shared"}

        self.settled(store, apart)
        other.delete(["shared"])
        self.settled(store, lambda: assert_equal(
            [r.id for r in store.get(["shared"])], ["shared"], "delete in another collection"))
        store.reset()

        def kept() -> None:
            assert store.count() == 0
            assert other.count() == 2, "reset() of one collection emptied another"
            assert sorted(r.id for r in other.list()) == ["only-b", "only-b2"]

        self.settled(other, kept)

    # ---- edge data ------------------------------------------------------------------------
    @contract(since=3, group="edge-data")
    def test_edge_values_in_filters(self, store: Any) -> None:
        """Float32 collisions, epoch seconds ±1, Unicode look-alikes as stored values and as
        operands: each through count, list and query, against the reference evaluator."""
        records = [Record(id=f"e{n}", vector=data.unit(n % self.dimension, 1.0 + n), payload=p)
                   for n, p in enumerate(EDGE_PAYLOADS)]
        self.load(store, records)
        got = {r.id: r.payload for r in store.get([r.id for r in records])}
        problems = [p for r in records
                    if (p := payload_problem(r.id, got.get(r.id, {}), r.payload))]
        assert not problems, "edge values do not round-trip:\n" + "\n".join(problems)
        check_filter_cases(store, self.caps(store), records, EDGE_FILTERS)

    @contract(since=3, group="edge-data")
    def test_ids_differ_by_case_and_space(self, store: Any) -> None:
        records = [Record(id=i, vector=data.unit(n % self.dimension), payload={"n": n})
                   for n, i in enumerate(CASE_IDS)]
        self.load(store, records)
        assert [(r.id, r.payload["n"]) for r in store.get(CASE_IDS)] == [
            (i, n) for n, i in enumerate(CASE_IDS)], "ids differing in case or spaces collide"
        store.delete(["abc"])
        self.settled(store, lambda: assert_equal(
            sorted(r.id for r in store.list()), sorted(CASE_IDS[1:]), "ids after delete(['abc'])"))

    @contract(since=3, group="edge-data")
    def test_repeated_id_in_one_batch(self, store: Any) -> None:
        """As if written one after another: the last record of an id wins."""
        store.upsert([Record(id="r", vector=data.unit(0), payload={"v": 1}),
                      Record(id="other", vector=data.unit(1), payload={"v": 0}),
                      Record(id="r", vector=data.unit(2), payload={"v": 2})])

        def last_wins() -> None:
            assert store.count() == 2, "an id repeated in one batch was stored twice"
            [r] = store.get(["r"], with_vectors=True)
            assert r.payload == {"v": 2}, "the last record of a repeated id must win"
            assert _vectors_close(r.vector or [], data.unit(2), 1e-4)
            hits = store.query(data.unit(2), limit=5)
            assert [h.id for h in hits].count("r") == 1 and hits[0].id == "r"

        self.settled(store, last_wins)

    @contract(since=3, group="edge-data")
    def test_zero_vector(self, store: Any) -> None:
        """A zero vector is refused (InvalidInput) or stored and scored 0.0 — never NaN, never
        a backend error."""
        self.load(store, [Record(id="a", vector=data.unit(0), payload={})])
        zero = [0.0] * self.dimension
        try:
            store.upsert([Record(id="zero", vector=zero, payload={"z": True})])
            stored = True
        except InvalidInput:
            stored = False
        except MemstackError as exc:
            pytest.fail(f"a zero vector raised {type(exc).__name__} ({exc}), not InvalidInput")
        want = 2 if stored else 1
        self.settled(store, lambda: assert_equal(store.count(), want, "count after zero vector"))
        for h in store.query(data.unit(1), limit=5):
            assert math.isfinite(h.score), f"{h.id}: score {h.score} (a zero vector's norm?)"
            if h.id == "zero":
                assert abs(h.score) <= 1e-4, f"a zero vector scores {h.score}, not 0.0"
        try:
            hits = store.query(zero, limit=5)
        except InvalidInput:
            return
        assert all(math.isfinite(h.score) and abs(h.score) <= 1e-4 for h in hits), (
            f"a zero query vector must score 0.0 everywhere, got {[h.score for h in hits]}")

    @contract(since=3, group="edge-data")
    def test_limit_zero(self, store: Any) -> None:
        self.load(store, data.filter_records()[:6])
        q = data.query_vector()
        assert store.list(limit=0) == [], "list(limit=0) must return nothing"
        assert store.list(limit=0, offset=2) == []
        assert store.query(q, limit=0) == [], "query(limit=0) must return nothing"
        if "filter:eq" in self.caps(store):
            from memstack.filters import parse_filter

            assert store.query(q, limit=0, filters=parse_filter({"n": {"gte": 0}} if
                               "filter:gte" in self.caps(store) else {"n": 1})) == []
        if caps.QUERY_IDS in self.caps(store):
            assert store.query_ids(q, limit=0) == []

    @contract(since=3, group="edge-data")
    def test_get_permuted_with_missing_id(self, store: Any) -> None:
        """Payloads and vectors follow the ids asked for, not the order they were stored in."""
        records = data.search_records()[:8]
        self.load(store, records)
        by_id = {r.id: r for r in records}
        wanted = [records[5].id, "missing", records[0].id, records[7].id, "gone", records[2].id]
        got = store.get(wanted, with_vectors=True)
        present = [i for i in wanted if i in by_id]
        assert [r.id for r in got] == present
        for r in got:
            assert r.payload == by_id[r.id].payload, f"{r.id}: payload of another record"
            assert _vectors_close(r.vector or [], by_id[r.id].vector or [],
                                  max(1e-3, self.tolerance(store))), (
                f"{r.id}: vector of another record")

    @contract(since=3, group="edge-data")
    def test_reads_between_pages(self, store: Any) -> None:
        """Other reads between two pages do not move the pages (no shared cursor state)."""
        records = data.filter_records()
        self.load(store, records)
        full = [r.id for r in store.list()]
        flat: list[str] = []
        offset = 0
        while True:
            page = store.list(limit=9, offset=offset)
            if not page:
                break
            flat += [r.id for r in page]
            offset += 9
            store.get([full[0], full[-1]])
            store.query(data.query_vector(), limit=3)
            store.list(limit=2, offset=50)
            store.count()
        assert flat == full, "pages read between other calls are not slices of list()"

    # ---- precision ------------------------------------------------------------------------
    @contract(since=3, group="query")
    def test_scores_and_vectors_are_precise(self, store: Any) -> None:
        """Approximate search may miss a neighbour, but what it returns is exact: scores within
        1e-4 of the cosine, vectors read back within 1e-4 (1e-2 for 'quantized' stores)."""
        tol = self.tolerance(store)
        records = data.search_records()
        self.load(store, records)
        vectors = {r.id: r.vector or [] for r in records}
        for qn, query in enumerate(data.search_queries()[:10]):
            for h in store.query(query, limit=10):
                true = data.cosine(vectors[h.id], query)
                assert abs(h.score - true) <= tol, (
                    f"query {qn}: {h.id} scored {h.score:.6f}, cosine similarity is {true:.6f} "
                    f"(tolerance {tol}; declare 'quantized' if vectors are kept approximately)")
        got = store.get([r.id for r in records[:50]], with_vectors=True)
        for r in got:
            assert r.vector is not None and _vectors_close(r.vector, vectors[r.id], tol), (
                f"{r.id}: vector read back differs from the one written by more than {tol}")
