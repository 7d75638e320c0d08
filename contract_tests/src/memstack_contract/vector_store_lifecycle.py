"""Persistence, concurrency and keyword-search tests of the vector store contract (a mixin)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
import threading
from typing import Any

from memstack import capabilities as caps
from memstack.filters import parse_filter
from memstack.models import Hit, Record
from memstack.protocols import KeywordSearch
from memstack_contract import data, guard
from memstack_contract.base import Builder
from memstack_contract.data import assert_equal
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
            node = parse_filter({"group": "b"})
            only = store.keyword_query("zebra", limit=5, filters=node)
            assert [h.id for h in only] == ["k2"]

