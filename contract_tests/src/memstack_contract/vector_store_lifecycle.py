"""Persistence, concurrency and keyword-search tests of the vector store contract (a mixin)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import textwrap
import threading
from typing import Any

import pytest

from memstack import capabilities as caps
from memstack.filters import parse_filter
from memstack.models import Hit, Record
from memstack.protocols import HybridQuery, KeywordSearch
from memstack_contract import data, guard
from memstack_contract.base import Builder, build_source
from memstack_contract.data import assert_equal, payload_problem
from memstack_contract.reasons import NOT_REGISTERED
from memstack_contract.versioning import contract


@guard.suite_class
class LifecycleTests:
    """Mixed into `VectorStoreContract`; relies on its `store`, `load`, `settled` and `require`."""

    # ---- persistence ----------------------------------------------------------------------
    @contract(since=1, group="persistence")
    def test_data_survives_reopen(self, make_provider: Builder) -> None:
        store = make_provider()
        self.require(self.caps(store), caps.PERSISTENT)
        records = data.filter_records()[:10]
        self.load(store, records)
        make_provider.close(store)
        again = make_provider()

        def kept() -> None:
            assert again.count() == len(records), "records lost across close() and reopen"
            got = {r.id: r.payload for r in again.get([r.id for r in records])}
            assert got == {r.id: r.payload for r in records}
            assert again.query(records[3].vector or [], limit=1)[0].id == records[3].id

        self.settled(again, kept)

    @contract(since=3, group="persistence")
    def test_reopen_after_delete_and_replace(self, make_provider: Builder) -> None:
        """Deletes and replaces made before close() are what a reopened store shows, with
        payload types kept exactly (1 is not 1.0 is not True)."""
        store = make_provider()
        self.require(self.caps(store), caps.PERSISTENT)
        records = data.filter_records()[:12]
        self.load(store, records)
        store.delete([r.id for r in records[:3]])
        replaced = [Record(id=r.id, vector=data.unit(n), payload={"i": 1.0, "b": 1, "f": True,
                                                                  "l": [1, 1.0, True, "1"]})
                    for n, r in enumerate(records[3:6])]
        store.upsert(replaced)
        want = {r.id: r for r in records[6:]} | {r.id: r for r in replaced}
        make_provider.close(store)
        again = make_provider()

        def kept() -> None:
            assert again.count() == len(want), "deletes or replaces lost across reopen"
            assert again.get([r.id for r in records[:3]]) == [], "deleted records came back"
            got = {r.id: r.payload for r in again.get(list(want))}
            problems = [p for rid, rec in want.items()
                        if (p := payload_problem(f"{rid} after reopen", got.get(rid, {}),
                                                 rec.payload))]
            assert not problems, "\n".join(problems)
            listed = {r.id for r in again.list()}
            assert listed == set(want), "list() after reopen"
            hits = again.query(data.unit(1), limit=1)
            assert hits[0].id == replaced[1].id, "the replaced vector was not kept"

        self.settled(again, kept)

    # ---- concurrency ----------------------------------------------------------------------
    @contract(since=1, group="concurrency")
    def test_threads_write_and_read_at_once(self, store: Any) -> None:
        records = data.filter_records()
        errors: list[BaseException] = []

        def work(part: list[Record]) -> None:
            try:
                for k in range(0, len(part), 4):
                    store.upsert(part[k:k + 4])
                    store.query(data.query_vector(), limit=3)
                    store.count()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(records[n::4],)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, f"concurrent calls failed: {errors[0]!r}"

        def all_there() -> None:
            assert store.count() == len(records)
            assert len(store.get([r.id for r in records])) == len(records)

        self.settled(store, all_there)

    @contract(since=1, group="concurrency")
    def test_processes_write_at_once(
        self, make_provider: Builder, provider_spec, instance_config: dict[str, Any]
    ) -> None:
        store = make_provider()
        self.require(self.caps(store), caps.MULTIPROCESS)
        spec = self.registered(provider_spec)
        script = textwrap.dedent(
            """
            import json, sys
            from memstack.models import Record
            from memstack.registry import get_registry
            config, name, k = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
            store = get_registry().build("vector_store", name, config)
            for n in range(0, 30, 5):
                store.upsert([
                    Record(id=f"p{k}-{i}", vector=[1.0 + i] + [0.5] * (config["dimension"] - 1),
                           payload={"k": k})
                    for i in range(n, n + 5)
                ])
            store.close()
            """
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, json.dumps(instance_config), spec.name, str(k)],
                stderr=subprocess.PIPE, text=True,
            )
            for k in range(2)
        ]
        store.upsert(data.filter_records()[:10])
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"writer process failed:\n{err[-3000:]}"
        self.settled(store, lambda: assert_equal(store.count(), 70, "count after 3 writers"))

    @contract(since=3, group="concurrency")
    def test_threads_overlap(self, store: Any) -> None:
        """Six threads released together by a barrier, many single-record writes, deletes and
        reads, under a very short switch interval so that they really interleave."""
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def work(k: int) -> None:
            try:
                barrier.wait(timeout=60)
                for n in range(20):
                    rid = f"t{k}-{n}"
                    store.upsert([Record(id=rid, vector=data.unit((k + n) % self.dimension,
                                                                  1.0 + n), payload={"k": k})])
                    if n % 5 == 4:
                        store.delete([f"t{k}-{n - 1}"])
                    if n % 3 == 0:
                        store.get([rid])
                        store.query(data.query_vector(), limit=2)
            except BaseException as exc:
                errors.append(exc)

        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
        finally:
            sys.setswitchinterval(old)
        assert not errors, f"overlapping calls failed: {errors[0]!r}"
        want = {f"t{k}-{n}" for k in range(6) for n in range(20) if n % 5 != 3}

        def all_there() -> None:
            assert store.count() == len(want), f"count {store.count()}, expected {len(want)}"
            assert {r.id for r in store.list()} == want, "writes lost or deletes undone"

        self.settled(store, all_there)

    @contract(since=3, group="concurrency")
    def test_processes_contend(
        self, make_provider: Builder, provider_spec, provider_factory,
        instance_config: dict[str, Any],
    ) -> None:
        """Two processes × 300 single-record writes, started together, while this one writes
        too: a store without a busy timeout or retry fails here ("database is locked")."""
        store = make_provider()
        self.require(self.caps(store), caps.MULTIPROCESS)
        source = build_source(self.kind, provider_spec, provider_factory)
        if source is None:
            pytest.skip(NOT_REGISTERED)
        results = run_contending(source, instance_config, _VECTOR_WRITER, lambda: [
            store.upsert([Record(id=f"parent-{n}", vector=data.unit(n % self.dimension, 2.0),
                                 payload={"k": -1})]) for n in range(50)])
        assert not results, results
        self.settled(store, lambda: assert_equal(store.count(), 650, "count after 3 writers"))
        assert len(store.get([f"p1-{n}" for n in range(300)])) == 300

    # ---- keyword search -------------------------------------------------------------------
    @contract(since=1, group="keyword")
    def test_keyword_query(self, store: Any) -> None:
        declared = self.caps(store)
        self.require(declared, caps.KEYWORD_SEARCH)
        assert isinstance(store, KeywordSearch), "declares keyword_search without keyword_query()"
        texts = ["the zebra crossed the road", "a quiet library", "zebra stripes and a lion",
                 "nothing here"]
        self.load(store, [
            Record(id=f"k{n}", vector=data.unit(n),
                   payload={"text": t, "memory": t, "data": t, "group": "ab"[n % 2]})
            for n, t in enumerate(texts)
        ])
        hits = store.keyword_query("zebra", limit=5)
        assert all(isinstance(h, Hit) for h in hits) and len(hits) <= 5
        assert {h.id for h in hits} >= {"k0", "k2"} and "k1" not in {h.id for h in hits[:2]}
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
        assert len(store.keyword_query("zebra", limit=1)) == 1
        if "filter:eq" in declared:
            only = store.keyword_query("zebra", limit=5, filters=parse_filter({"group": "a"}))
            assert sorted(h.id for h in only) == ["k0", "k2"]
            assert store.keyword_query("zebra", limit=5, filters=parse_filter({"group": "b"})) == []
            [one] = store.keyword_query("lion", limit=5, filters=parse_filter({"group": "a"}))
            assert one.id == "k2" and one.payload["group"] == "a"

    @contract(since=3, group="keyword")
    def test_hybrid_query_is_query_and_keyword_query(self, store: Any) -> None:
        """One call returns what the two calls do, plus each keyword hit's cosine similarity."""
        declared = self.caps(store)
        self.require(declared, caps.HYBRID_QUERY)
        assert caps.KEYWORD_SEARCH in declared, "declares hybrid_query without keyword_search"
        assert isinstance(store, HybridQuery), "declares hybrid_query without hybrid_query()"
        words = ["zebra", "lion", "library", "road", "quiet"]
        records = [Record(id=f"h{n:02d}", vector=vec,
                          payload={"text": f"{words[n % 5]} {words[(n * 3) % 5]} note {n}",
                                   "group": "ab"[n % 2]})
                   for n, vec in enumerate(r.vector for r in data.search_records()[:24])]
        self.load(store, records)
        by_id = {r.id: r for r in records}
        tol = self.tolerance(store)
        query = data.query_vector()
        for node in [None, *([parse_filter({"group": "a"})] if "filter:eq" in declared else [])]:
            for text, limit, keyword_limit in [("zebra road", 5, 8), ("lion", 30, 3),
                                               ("nothing matches", 4, 4), ("zebra", 0, 5),
                                               ("quiet", 3, 0)]:
                got = store.hybrid_query(query, text, limit=limit, keyword_limit=keyword_limit,
                                         filters=node)
                where = f"hybrid_query({text!r}, limit={limit}, keyword_limit={keyword_limit})"
                want_v = store.query(query, limit=limit, filters=node) if limit > 0 else []
                want_k = (store.keyword_query(text, limit=keyword_limit, filters=node)
                          if keyword_limit > 0 else [])
                assert [h.id for h in got.vector] == [h.id for h in want_v], where
                assert [h.id for h in got.keyword] == [h.id for h in want_k], where
                for a, b in [*zip(got.vector, want_v, strict=True),
                             *zip(got.keyword, want_k, strict=True)]:
                    assert abs(a.score - b.score) <= tol, f"{where}: score of {a.id}"
                    assert payload_problem(f"{where} {a.id}", a.payload, b.payload) is None
                assert set(got.similarity) == {h.id for h in got.keyword}, where
                for rid, sim in got.similarity.items():
                    want = data.cosine(query, by_id[rid].vector or [])
                    assert abs(sim - want) <= tol, f"{where}: similarity of {rid}"

    @contract(since=3, group="keyword")
    def test_engine_ranks_alike_with_one_call_and_separate_calls(self, store: Any,
                                                                 tmp_path: Any) -> None:
        """`Memory.search` over `hybrid_query` and over the engine's own combination of
        `query_ids`, `keyword_query` and reads: same results, scores and explanations."""
        import random

        from memstack import Memory

        self.require(self.caps(store), caps.HYBRID_QUERY)
        words = ["zebra", "dance", "paris", "hobbies", "coffee", "piano", "sister", "2023",
                 "the", "trip", "garden", "novel"]
        memory = Memory({"embedder": {"provider": "hashing",
                                      "config": {"dimension": self.dimension}},
                         "history_store": {"provider": "sqlite",
                                           "config": {"path": str(tmp_path / "history.db")}}},
                        vector_store=store)
        rng = random.Random(5)
        try:
            assert memory.searcher.one_call, "declares hybrid_query; the engine must use it"
            for n in range(60):
                memory.add(" ".join(rng.choices(words, k=rng.randint(3, 9))),
                           user_id=f"u{n % 3}", agent_id=f"a{n % 2}", infer=False)
            self.settled(store, lambda: assert_equal(store.count(), 60, "count after 60 adds"))
            for text in ("zebra dance", "hobbies in paris", "coffee", "the", "piano sister 2023"):
                for scope in ({"user_id": "u0"}, {"user_id": "u1", "agent_id": "a1"}):
                    for limit, threshold in ((5, None), (12, 0.05)):
                        runs = []
                        for one_call in (True, False):
                            memory.searcher.one_call = one_call
                            found = memory.search(text, **scope, limit=limit,
                                                  threshold=threshold, explain=True).results
                            runs.append([(h.id, round(h.score, 6), h.explanation)
                                         for h in found])
                        assert runs[0] == runs[1], (text, scope, limit)
                        assert runs[0], (text, scope)
        finally:
            memory.searcher.one_call = True



_VECTOR_WRITER = """
for n in range(300):
    store.upsert([Record(id=f"p{k}-{n}", vector=[1.0 + n] + [0.5] * (config["dimension"] - 1),
                         payload={"k": k})])
"""


def run_contending(source: str, config: dict[str, Any], body: str, parent: Any) -> str:
    """Start two writer processes that wait on a shared go-file, release them together, run
    `parent()` meanwhile; return their failures ('' when both succeeded)."""
    with tempfile.TemporaryDirectory(prefix="memstack-contend-") as tmp:
        go = f"{tmp}/go"
        script = "\n".join([
            "import json, os, sys, time",
            "from memstack.models import HistoryEntry, Record",
            source,
            "config, k = json.loads(sys.argv[1]), int(sys.argv[2])",
            "store = build(config)",
            f"open({tmp!r} + f'/ready{{k}}', 'w').close()",
            f"while not os.path.exists({go!r}):",
            "    time.sleep(0.001)",
            textwrap.dedent(body),
            "store.close()",
        ])
        procs = [subprocess.Popen([sys.executable, "-c", script, json.dumps(config), str(k)],
                                  stderr=subprocess.PIPE, text=True) for k in range(2)]
        import os
        import time

        deadline = time.monotonic() + 120
        while not all(os.path.exists(f"{tmp}/ready{k}") for k in range(2)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.005)
        open(go, "w").close()
        parent()
        failures = []
        for p in procs:
            _, err = p.communicate(timeout=300)
            if p.returncode != 0:
                last = (err.strip().splitlines() or ["(no output)"])[-1]
                failures.append(f"writer process failed: {last}\n{err[-3000:]}")
        return "\n".join(failures)
