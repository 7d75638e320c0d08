"""`VectorStoreContract`: what every vector store must do, checked against the core's reference.

Subclass it, set `provider`, and give a `provider_config` fixture; the suite adds a unique
`collection` and `dimension` (8) to that config for each test and builds a fresh store.
"""

from __future__ import annotations

import copy
import math
import os
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.errors import DimensionMismatch, InvalidInput
from memstack.filters import missing_capabilities, parse_filter
from memstack.models import Hit, Record
from memstack.protocols import BulkLoads, IdsQuery, Inserts, VectorStore
from memstack_contract import data, guard
from memstack_contract.base import Builder, ContractBase, capabilities_of
from memstack_contract.data import assert_equal, payload_problem
from memstack_contract.reasons import EVENTUALLY_CONSISTENT, QUANTIZED
from memstack_contract.strategies import PROFILE, profile_settings
from memstack_contract.vector_store_edges import EdgeTests
from memstack_contract.vector_store_filters import FilterTests
from memstack_contract.vector_store_lifecycle import LifecycleTests
from memstack_contract.vector_store_time import TimeTests
from memstack_contract.vector_store_topk import TopKTests
from memstack_contract.versioning import contract
from memstack_contract.wait import eventually

DIM = data.DIM
IDS = [
    "1",
    "007",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "with space",
    "ünïcødé-ключ-記憶",
    "quote'\"`",
    "slash/colon:semi;",
    "x" * 200,
]




@guard.suite_class
class VectorStoreContract(TopKTests, EdgeTests, FilterTests, LifecycleTests, TimeTests,
                          ContractBase):
    """The vector store contract. Set `provider` and a `provider_config` fixture."""

    kind: ClassVar[str] = str(Kind.VECTOR_STORE)
    reset_on_teardown: ClassVar[bool] = True
    #: Longest wait for a write to show, for stores declaring 'eventually_consistent'.
    consistency_timeout: ClassVar[float] = 10.0
    dimension: ClassVar[int] = DIM
    bulk_size: ClassVar[int] = 6000

    # ---- fixtures -------------------------------------------------------------------------
    @pytest.fixture
    def collection_name(self) -> str:
        """Unique per test (safe under pytest -n): letters, digits and '_' suit every backend."""
        return f"ct_{uuid.uuid4().hex[:16]}"

    @pytest.fixture
    def instance_config(
        self, provider_config: dict[str, Any], collection_name: str
    ) -> dict[str, Any]:
        config = copy.deepcopy(dict(provider_config))
        config["collection"] = collection_name
        config["dimension"] = self.dimension
        return config

    @pytest.fixture
    def store(self, make_provider: Builder) -> Any:
        return make_provider()

    @pytest.fixture
    def hypothesis_settings(self, request: pytest.FixtureRequest):
        name = (
            request.config.getoption("memstack_hypothesis_profile", default=None)
            or os.environ.get("MEMSTACK_CONTRACT_PROFILE")
            or PROFILE
        )
        return profile_settings(name)

    # ---- helpers --------------------------------------------------------------------------
    @staticmethod
    def caps(store: Any) -> frozenset[str]:
        return capabilities_of(store, None)

    def tolerance(self, store: Any) -> float:
        """How close scores and vectors read back must be: 1e-4, or 1e-2 for a store that
        declares 'quantized' (keeps vectors approximately by design)."""
        return 1e-2 if QUANTIZED in self.caps(store) else 1e-4

    def settled(self, store: Any, check: Callable[[], Any]) -> Any:
        """Run a read-and-assert: at once, or polling for stores declaring eventual consistency."""
        if EVENTUALLY_CONSISTENT in self.caps(store):
            return eventually(check, timeout=self.consistency_timeout)
        return check()

    def load(self, store: Any, records: list[Record]) -> None:
        """Upsert `records` into an empty store and wait (if allowed) until all are counted."""
        store.upsert(records)

        def counted() -> None:
            got = store.count()
            assert got == len(records), f"count() = {got} right after upserting {len(records)}"

        self.settled(store, counted)

    # ---- crud -----------------------------------------------------------------------------
    @contract(since=1, group="crud")
    def test_instance_attributes(self, store: Any) -> None:
        assert isinstance(store, VectorStore), "store does not implement memstack VectorStore"
        assert store.dimension == self.dimension
        assert isinstance(store.capabilities, frozenset)

    @contract(since=1, group="crud")
    def test_empty_store(self, store: Any) -> None:
        assert store.count() == 0
        assert store.query(data.query_vector(), limit=5) == []
        assert store.list() == []
        assert store.list(limit=3, offset=0) == []
        assert store.get(["absent"]) == []
        store.delete(["absent"])  # deleting nothing is not an error
        assert store.count() == 0

    @contract(since=1, group="crud")
    def test_upsert_get_delete(self, store: Any) -> None:
        records = [
            Record(id="a", vector=data.unit(0), payload={"k": "A"}),
            Record(id="b", vector=data.unit(1), payload={"k": "B"}),
            Record(id="c", vector=data.unit(2), payload={"k": "C"}),
        ]
        self.load(store, records)
        got = store.get(["a", "b", "c"])
        assert [r.id for r in got] == ["a", "b", "c"]
        assert [r.payload for r in got] == [{"k": "A"}, {"k": "B"}, {"k": "C"}]
        assert all(isinstance(r, Record) for r in got)
        store.delete(["b"])

        def gone() -> None:
            assert [r.id for r in store.get(["a", "b", "c"])] == ["a", "c"]
            assert store.count() == 2

        self.settled(store, gone)

    @contract(since=1, group="crud")
    def test_upsert_existing_id_replaces(self, store: Any) -> None:
        self.load(store, [
            Record(id="a", vector=data.unit(0), payload={"old": 1, "k": "first"}),
            Record(id="b", vector=data.unit(1), payload={"k": "B"}),
        ])
        store.upsert([Record(id="a", vector=data.unit(3), payload={"k": "second"})])
        store.upsert([Record(id="a", vector=data.unit(3), payload={"k": "second"})])

        def replaced() -> None:
            assert store.count() == 2, "upserting an existing id must replace it, not add a copy"
            [a] = store.get(["a"])
            assert a.payload == {"k": "second"}, "replacement keeps no field of the old payload"
            listed = [r.id for r in store.list()]
            assert sorted(listed) == ["a", "b"]
            hits = store.query(data.unit(3), limit=10)
            assert [h.id for h in hits].count("a") == 1
            assert hits[0].id == "a" and math.isclose(hits[0].score, 1.0, abs_tol=1e-3)
            old = {h.id: h.score for h in store.query(data.unit(0), limit=10)}
            assert old.get("a", 0.0) < 0.5, "the old vector of 'a' is still searchable"

        self.settled(store, replaced)

    @contract(since=1, group="crud")
    def test_missing_ids_in_get_and_delete(self, store: Any) -> None:
        self.load(store, [
            Record(id="a", vector=data.unit(0), payload={}),
            Record(id="b", vector=data.unit(1), payload={}),
        ])
        assert [r.id for r in store.get(["a", "missing", "b"])] == ["a", "b"]
        assert store.get(["missing", "also-missing"]) == []
        assert store.get([]) == []
        store.delete(["missing", "a"])
        store.delete([])
        self.settled(store, lambda: assert_equal(store.count(), 1, "count after delete"))

    @contract(since=1, group="crud")
    def test_get_keeps_order_of_ids(self, store: Any) -> None:
        records = data.filter_records()[:6]
        self.load(store, records)
        wanted = [records[4].id, records[0].id, records[5].id, records[2].id]
        assert [r.id for r in store.get(wanted)] == wanted

    @contract(since=1, group="crud")
    def test_arbitrary_string_ids(self, store: Any) -> None:
        records = [Record(id=i, vector=data.unit(n % DIM, 1.0 + n), payload={"n": n})
                   for n, i in enumerate(IDS)]
        self.load(store, records)
        got = store.get(IDS)
        assert [r.id for r in got] == IDS
        assert [r.payload["n"] for r in got] == list(range(len(IDS)))
        assert sorted(r.id for r in store.list()) == sorted(IDS)
        assert {h.id for h in store.query(data.unit(0), limit=len(IDS))} == set(IDS)
        store.delete(IDS[:4])
        self.settled(store, lambda: assert_equal(
            sorted(r.id for r in store.list()), sorted(IDS[4:]), "ids left after delete"))

    @contract(since=1, group="crud")
    def test_get_with_vectors(self, store: Any) -> None:
        records = data.search_records()[:5]
        self.load(store, records)
        got = store.get([r.id for r in records], with_vectors=True)
        assert [r.id for r in got] == [r.id for r in records]
        for want, have in zip(records, got, strict=True):
            assert have.vector is not None and len(have.vector) == DIM, "vector not returned"
            assert data.cosine(have.vector, want.vector or []) > 1 - 1e-5, (
                f"{want.id}: returned vector points elsewhere than the one written"
            )

    @contract(since=1, group="crud")
    def test_batch_larger_than_backend_limit(self, store: Any) -> None:
        records = data.bulk_records(self.bulk_size)
        self.load(store, records)
        ids = [r.id for r in records]
        got = store.get(ids)
        assert len(got) == len(ids) and [r.id for r in got] == ids
        assert len(store.list()) == len(ids)
        store.delete(ids)
        self.settled(store, lambda: assert_equal(store.count(), 0, "count after bulk delete"))

    @contract(since=2, group="crud")
    def test_insert_writes_new_records_as_upsert_would(self, store: Any) -> None:
        """The engine writes new memories with `insert`: what it stores must read back exactly
        as after `upsert` (payload types, vectors, batches past the backend's limit)."""
        self.require(self.caps(store), caps.INSERT)
        assert isinstance(store, Inserts), "declares 'insert' without an insert() method"
        payload = copy.deepcopy(data.PAYLOAD_SAMPLES)
        first = [Record(id="p", vector=data.unit(0), payload=payload),
                 *data.search_records()[:5]]
        store.insert(first)
        store.insert([])
        bulk = data.bulk_records(self.bulk_size)
        store.insert(bulk)
        total = len(first) + len(bulk)
        self.settled(store, lambda: assert_equal(store.count(), total, "count after insert"))
        got = store.get([r.id for r in first], with_vectors=True)
        assert [r.id for r in got] == [r.id for r in first]
        problem = payload_problem("get() after insert", got[0].payload, payload)
        assert not problem, problem
        for want, have in zip(first, got, strict=True):
            assert have.vector is not None and data.cosine(have.vector, want.vector or []) \
                > 1 - 1e-5, f"{want.id}: the vector read back is not the one inserted"
        assert [r.id for r in store.get([r.id for r in bulk])] == [r.id for r in bulk]
        assert store.query(data.unit(0), limit=1)[0].id == "p"
        for size in (DIM - 1, DIM + 1):
            with pytest.raises(DimensionMismatch):
                store.insert([Record(id=f"d{size}", vector=[0.5] * size, payload={})])
        bad = data.unit(0)
        bad[2] = math.nan
        with pytest.raises(InvalidInput):
            store.insert([Record(id="nan", vector=bad, payload={})])
        assert store.count() == total, "a rejected record was inserted anyway"

    @contract(since=4, group="crud")
    def test_bulk_load_keeps_every_write_and_answers_the_same(self, store: Any) -> None:
        """Inside `bulk_load()` everything works; when the block ends, normally, nested or by
        an error, every write made in it is kept and searches find the same as before."""
        self.require(self.caps(store), caps.BULK_LOAD)
        assert isinstance(store, BulkLoads), "declares 'bulk_load' without a bulk_load() method"
        records = data.search_records()
        queries = data.search_queries()[:5]
        exact = caps.EXACT_SEARCH in self.caps(store)

        def found(hits: list[Hit], query: list[float]) -> None:
            truth = [i for i, _ in data.brute_force(records, query)[:10]]
            ids = [h.id for h in hits]
            if exact:
                assert ids == truth, f"top-10 {ids}, brute force {truth}"
            else:
                assert len(set(ids) & set(truth)) >= 8, f"top-10 {ids}, brute force {truth}"

        with store.bulk_load():
            with store.bulk_load():  # nested: the inner end must not lose the outer's writes
                store.upsert(records[:150])
            store.upsert(records[150:300])
            self.settled(store, lambda: assert_equal(store.count(), 300, "count inside"))
            assert [r.id for r in store.get([records[0].id, records[299].id])] == [
                records[0].id, records[299].id]
        store.upsert(records[300:])
        self.settled(store, lambda: assert_equal(store.count(), 400, "count after the block"))
        for q in queries:
            self.settled(store, lambda q=q: found(store.query(q, limit=10), q))
        filters = "filter:eq" in self.caps(store)
        if filters:
            self.settled(store, lambda: assert_equal(
                store.count(parse_filter({"n": 7})), 1,
                "count of a filter matching one record written in a bulk load"))
        extra = data.bulk_records(20)
        with pytest.raises(RuntimeError, match="failed inside"), store.bulk_load():
            store.upsert(extra)
            raise RuntimeError("the caller failed inside the block")
        self.settled(store, lambda: assert_equal(
            store.count(), 420, "count after a block that ended by an error"))
        assert len(store.get([r.id for r in extra])) == 20, "writes of the failed block were lost"
        if filters:
            self.settled(store, lambda: assert_equal(
                store.count(parse_filter({"i": 5})), 1, "count of a filter matching one record "
                "written in a bulk load that ended by an error"))
        store.delete([r.id for r in extra])
        for q in queries:
            self.settled(store, lambda q=q: found(store.query(q, limit=10), q))

    @contract(since=1, group="crud")
    def test_reset_empties(self, store: Any) -> None:
        self.load(store, data.filter_records()[:10])
        store.reset()

        def empty() -> None:
            assert store.count() == 0
            assert store.list() == []
            assert store.query(data.query_vector(), limit=5) == []

        self.settled(store, empty)
        self.load(store, data.filter_records()[:2])  # still usable after reset

    # ---- consistency ----------------------------------------------------------------------
    @contract(since=1, group="consistency")
    def test_read_your_writes(self, store: Any) -> None:
        """A write is visible to the next read (or, if declared eventual, within the timeout)."""
        rec = Record(id="ryw", vector=data.unit(1), payload={"v": 1})
        store.upsert([rec])

        def visible() -> None:
            assert [r.id for r in store.get(["ryw"])] == ["ryw"], "get() misses a fresh write"
            assert store.count() == 1, "count() misses a fresh write"
            assert [h.id for h in store.query(data.unit(1), limit=3)] == ["ryw"]
            assert [r.id for r in store.list()] == ["ryw"]

        self.settled(store, visible)
        store.upsert([Record(id="ryw", vector=data.unit(1), payload={"v": 2})])
        self.settled(store, lambda: assert_equal(
            store.get(["ryw"])[0].payload, {"v": 2}, "payload right after replacing"))
        store.delete(["ryw"])

        def deleted() -> None:
            assert store.get(["ryw"]) == [], "get() still returns a deleted record"
            assert store.count() == 0
            assert store.query(data.unit(1), limit=3) == []

        self.settled(store, deleted)

    # ---- payload --------------------------------------------------------------------------
    @contract(since=1, group="payload")
    def test_payload_types_round_trip(self, store: Any) -> None:
        payload = copy.deepcopy(data.PAYLOAD_SAMPLES)
        self.load(store, [Record(id="p", vector=data.unit(0), payload=payload)])
        problems = [
            payload_problem("get()", store.get(["p"])[0].payload, payload),
            payload_problem("list()", store.list()[0].payload, payload),
            payload_problem("query()", store.query(data.unit(0), limit=1)[0].payload, payload),
        ]
        problems = [p for p in problems if p]
        assert not problems, "payload does not round-trip with its types:\n" + "\n".join(problems)

    @contract(since=1, group="payload")
    def test_payload_types_vary_per_record(self, store: Any) -> None:
        values: list[Any] = [1, "1", 1.0, True, [1], ["1"], [], "", 0, False]
        records = [Record(id=f"t{n}", vector=data.unit(n % DIM), payload={"v": v})
                   for n, v in enumerate(values)]
        self.load(store, records)
        got = {r.id: r.payload for r in store.get([r.id for r in records])}
        problems = [
            p for r in records
            if (p := payload_problem(f"record {r.id}", got.get(r.id, {}), r.payload))
        ]
        assert not problems, "one key holding different types in different records:\n" + "\n".join(
            problems)

    @contract(since=1, group="payload")
    def test_large_text_payload(self, store: Any) -> None:
        payload = {"text": data.LARGE_TEXT, "n": 1}
        self.load(store, [
            Record(id="big", vector=data.unit(0), payload=payload),
            Record(id="small", vector=data.unit(1), payload={"text": "x", "n": 2}),
        ])
        assert store.get(["big"])[0].payload == payload
        [hit] = store.query(data.unit(0), limit=1)
        assert hit.id == "big" and hit.payload == payload

    # ---- validation -----------------------------------------------------------------------
    @contract(since=1, group="validation")
    def test_wrong_dimension_raises(self, store: Any) -> None:
        for size in (DIM - 1, DIM + 1):
            with pytest.raises(DimensionMismatch):
                store.upsert([Record(id=f"d{size}", vector=[0.5] * size, payload={})])
            with pytest.raises(DimensionMismatch):
                store.query([0.5] * size, limit=3)
        assert store.count() == 0, "a rejected record was stored anyway"

    @contract(since=1, group="validation")
    def test_nan_and_infinity_raise(self, store: Any) -> None:
        for bad in (math.nan, math.inf, -math.inf):
            vec = data.unit(0)
            vec[3] = bad
            with pytest.raises(InvalidInput) as info:
                store.upsert([Record(id="bad", vector=vec, payload={})])
            assert not isinstance(info.value, DimensionMismatch)
            with pytest.raises(InvalidInput):
                store.query(vec, limit=3)
        assert store.count() == 0, "a rejected record was stored anyway"

    # ---- query ----------------------------------------------------------------------------
    @contract(since=1, group="query")
    def test_exact_search_matches_brute_force(self, store: Any) -> None:
        self.require(self.caps(store), caps.EXACT_SEARCH)
        records = data.search_records()
        self.load(store, records)
        vectors = {r.id: r.vector or [] for r in records}
        for qn, query in enumerate(data.search_queries()):
            truth = data.brute_force(records, query)
            hits = store.query(query, limit=10)
            assert len(hits) == 10, f"query {qn}: {len(hits)} hits, expected 10"
            ids = [h.id for h in hits]
            assert len(set(ids)) == 10, f"query {qn}: repeated ids {ids}"
            for h in hits:
                true = data.cosine(vectors[h.id], query)
                assert abs(h.score - true) <= 1e-4, (
                    f"query {qn}: {h.id} scored {h.score:.6f}, cosine similarity is {true:.6f}"
                )
            got = [data.cosine(vectors[i], query) for i in ids]
            want = [s for _, s in truth[:10]]
            assert all(abs(g - w) <= 1e-4 for g, w in zip(got, want, strict=True)), (
                f"query {qn}: returned {ids}, brute force top 10 is {[i for i, _ in truth[:10]]}"
            )

    @contract(since=1, group="query")
    def test_recall_at_10(self, store: Any) -> None:
        records = data.search_records()
        self.load(store, records)
        vectors = {r.id: r.vector or [] for r in records}
        recalls = []
        for qn, query in enumerate(data.search_queries()):
            truth = {i for i, _ in data.brute_force(records, query)[:10]}
            hits = store.query(query, limit=10)
            assert len(hits) <= 10
            recalls.append(len(truth & {h.id for h in hits}) / 10)
            for h in hits:
                true = data.cosine(vectors[h.id], query)
                assert abs(h.score - true) <= 1e-2, (
                    f"query {qn}: {h.id} scored {h.score:.4f}, cosine similarity is {true:.4f}"
                )
        mean = sum(recalls) / len(recalls)
        assert mean >= 0.9, f"recall@10 = {mean:.3f} over {len(recalls)} queries (need >= 0.9)"

    @contract(since=1, group="query")
    def test_scores_are_cosine_similarity(self, store: Any) -> None:
        diag = [0.0] * DIM
        diag[0] = diag[1] = 3.0
        records = [
            Record(id="same", vector=data.unit(0, 2.0), payload={}),
            Record(id="orthogonal", vector=data.unit(1, 3.0), payload={}),
            Record(id="diagonal", vector=diag, payload={}),
            Record(id="opposite", vector=data.unit(0, -0.5), payload={}),
        ]
        self.load(store, records)
        expected = {"same": 1.0, "diagonal": math.sqrt(0.5), "orthogonal": 0.0, "opposite": -1.0}
        hits = store.query(data.unit(0, 5.0), limit=10)
        assert all(isinstance(h, Hit) for h in hits)
        assert [h.id for h in hits] == ["same", "diagonal", "orthogonal", "opposite"], (
            f"order {[h.id for h in hits]}: hits must be sorted by similarity, best first"
        )
        tol = 1e-4 if caps.EXACT_SEARCH in self.caps(store) else 1e-2
        for h in hits:
            assert -1 - 1e-6 <= h.score <= 1 + 1e-6, f"{h.id}: score {h.score} outside [-1, 1]"
            assert abs(h.score - expected[h.id]) <= tol, (
                f"{h.id}: score {h.score:.4f}, cosine similarity is {expected[h.id]:.4f} "
                "(a distance, a raw dot product or another scale?)"
            )

    @contract(since=2, group="query")
    def test_query_ids_matches_query(self, store: Any) -> None:
        """`query_ids` returns exactly what `query` returns, minus the payloads: hybrid search
        ranks on it and reads the payloads of its results afterwards."""
        declared = self.caps(store)
        self.require(declared, caps.QUERY_IDS)
        assert isinstance(store, IdsQuery), "declares 'query_ids' without a query_ids() method"
        self.load(store, data.filter_records())
        raws: list[Any] = [None, {"i": 1}, {"i": {"gte": 2}}, {"AND": [{"b": True}, {"i": 1}]},
                           {"s": {"in": ["alpha", "beta"]}}]
        nodes = [parse_filter(raw) for raw in raws]
        nodes = [n for n in nodes if n is None or not missing_capabilities(n, declared)]
        q = data.query_vector()
        for node in nodes:
            for limit in (1, 5, 64, 100):
                hits = store.query(q, limit=limit, filters=node)
                pairs = store.query_ids(q, limit=limit, filters=node)
                assert all(isinstance(rid, str) and isinstance(score, float)
                           for rid, score in pairs), f"not (id, float) pairs: {pairs[:3]}"
                assert [rid for rid, _ in pairs] == [h.id for h in hits], (
                    f"filter {node}, limit {limit}: query_ids {[r for r, _ in pairs]} but "
                    f"query {[h.id for h in hits]}")
                for (rid, score), h in zip(pairs, hits, strict=True):
                    assert abs(score - h.score) <= 1e-6, (
                        f"{rid}: query_ids score {score}, query score {h.score}")
        assert store.query_ids(q, limit=0) == []
        with pytest.raises(DimensionMismatch):
            store.query_ids([1.0] * (self.dimension + 1), limit=3)

    @contract(since=1, group="query")
    def test_query_limit(self, store: Any) -> None:
        records = data.filter_records()[:12]
        self.load(store, records)
        q = data.query_vector()
        assert len(store.query(q, limit=1)) == 1
        three = store.query(q, limit=3)
        assert len(three) == 3
        assert len(store.query(q, limit=50)) == 12
        top = [i for i, _ in data.brute_force(records, q)[:3]]
        if caps.EXACT_SEARCH in self.caps(store):
            assert [h.id for h in three] == top

