"""Filtered top-k, stale indexes and stateful sequences (contract version 3, a suite mixin).

Every check compares the store with brute force over the records the reference evaluator selects
(`memstack.filters.matches`): ids *and* scores, at limits 1, 5, one fewer than match and more.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings

from memstack import capabilities as caps
from memstack.filters import matches, missing_capabilities, parse_filter
from memstack.models import Record
from memstack_contract import data, guard
from memstack_contract.data import payload_problem
from memstack_contract.strategies import filter_dicts
from memstack_contract.topk_checks import TopK, describe, limits_for
from memstack_contract.versioning import contract


@guard.suite_class
class TopKTests:
    """Mixed into `VectorStoreContract`; relies on its `load`, `settled`, `caps`, `tolerance`."""

    def _topk(self, store: Any) -> TopK:
        return TopK(exact=caps.EXACT_SEARCH in self.caps(store), tol=self.tolerance(store))

    def _check_query(self, store: Any, check: TopK, records: list[Record], node: Any,
                     q: list[float], limit: int) -> None:
        hits = store.query(q, limit=limit, filters=node)
        check.check(hits, records, node, q, limit)
        if caps.QUERY_IDS in self.caps(store):
            pairs = store.query_ids(q, limit=limit, filters=node)
            if [i for i, _ in pairs] != [h.id for h in hits]:
                check.problems.append(
                    f"limit {limit}: query_ids {[i for i, _ in pairs]} but query "
                    f"{[h.id for h in hits]}")

    # ---- filtered top-k -------------------------------------------------------------------
    @contract(since=3, group="filtered-top-k")
    def test_filtered_top_k_matches_brute_force(self, store: Any) -> None:
        """Every declared operator (and connective) as the scope of a top-k query."""
        declared = self.caps(store)
        self.require(declared, "filter:eq")
        records = data.topk_records()
        self.load(store, records)
        check = self._topk(store)
        queries = data.topk_queries()
        for n, raw in enumerate(data.TOPK_CASES.values()):
            node = parse_filter(raw)
            if missing_capabilities(node, declared):
                continue
            matching = sum(1 for r in records if matches(node, r.payload))
            assert 5 < matching < len(records), f"suite data: {raw} selects {matching}"
            for limit in limits_for(matching):
                self._check_query(store, check, records, node, queries[n % len(queries)], limit)
        problems = check.verdict()
        assert not problems, describe(problems)

    @contract(since=3, group="filtered-top-k")
    def test_generated_filters_top_k(self, store: Any, hypothesis_settings) -> None:
        """Generated filter trees (declared operators only) as the scope of small top-k queries."""
        declared = self.caps(store)
        strategy = filter_dicts(declared)
        if strategy is None:
            self.require(declared, "filter:eq")
        records = data.filter_records()
        self.load(store, records)
        q = data.query_vector()
        # Half the examples of the generated-filter test: each runs three queries, not one.
        fewer = settings(hypothesis_settings,
                         max_examples=max(10, hypothesis_settings.max_examples // 2))

        @fewer
        @given(raw=strategy)
        def check_one(raw: dict[str, Any]) -> None:
            node = parse_filter(raw)
            if missing_capabilities(node, declared):
                return
            matching = sum(1 for r in records if matches(node, r.payload))
            check = self._topk(store)
            for limit in sorted({1, 5, max(matching - 1, 1)}):
                self._check_query(store, check, records, node, q, limit)
            problems = check.verdict(min_recall=0.0)
            assert not problems, describe(problems)

        check_one()

    # ---- stale indexes --------------------------------------------------------------------
    @contract(since=3, group="stale-index")
    def test_replace_then_filter(self, store: Any) -> None:
        """A replaced record is found by its new values only, with its new payload and vector,
        through count, list, query and get."""
        self.require(self.caps(store), "filter:eq")
        records = data.topk_records()[:60]
        self.load(store, records)
        rng = random.Random(3)
        replaced = []
        for r in records[::4]:
            vec = [round(rng.gauss(0, 1), 6) for _ in range(self.dimension)]
            replaced.append(Record(id=r.id, vector=vec,
                                   payload={"u": "moved", "g": 1.5, "t": ["new"], "b": False}))
        store.upsert(replaced)
        now = {r.id: r for r in records} | {r.id: r for r in replaced}
        current = list(now.values())
        old_user = records[0].payload["u"]

        def fresh() -> None:
            check = self._topk(store)
            for raw in ({"u": "moved"}, {"u": old_user}, {"t": {"contains": "new"}},
                        {"g": {"gt": 1}}):
                node = parse_filter(raw)
                if missing_capabilities(node, self.caps(store)):
                    continue
                want = {r.id for r in current if matches(node, r.payload)}
                assert store.count(node) == len(want), f"count({raw}) after replacing"
                listed = {r.id: r.payload for r in store.list(filters=node)}
                assert set(listed) == want, f"list({raw}) after replacing: stale index"
                for rid, payload in listed.items():
                    problem = payload_problem(f"list({raw}) {rid}", payload, now[rid].payload)
                    assert not problem, problem
                for limit in limits_for(len(want)):
                    self._check_query(store, check, current, node, data.topk_queries()[0], limit)
            problems = check.verdict()
            assert not problems, "after replacing: " + describe(problems)
            got = store.get([r.id for r in replaced], with_vectors=True)
            for want_rec, have in zip(replaced, got, strict=True):
                assert have.payload == want_rec.payload
                assert data.cosine(have.vector or [], want_rec.vector or []) > 1 - 1e-5

        self.settled(store, fresh)

    @contract(since=3, group="stale-index")
    def test_insert_then_filter(self, store: Any) -> None:
        """Records written with `insert` (every new memory) are found by scope filters."""
        declared = self.caps(store)
        self.require(declared, caps.INSERT)
        self.require(declared, "filter:eq")
        records = data.topk_records()
        store.insert(records[:120])
        store.insert(records[120:])

        def found() -> None:
            assert store.count() == len(records), "count() after insert"
            check = self._topk(store)
            for raw in (data.TOPK_CASES["eq"], data.TOPK_CASES["and"]):
                node = parse_filter(raw)
                if missing_capabilities(node, declared):
                    continue
                want = {r.id for r in records if matches(node, r.payload)}
                assert store.count(node) == len(want), f"count({raw}) after insert"
                assert {r.id for r in store.list(filters=node)} == want, f"list({raw})"
                for limit in limits_for(len(want)):
                    self._check_query(store, check, records, node, data.topk_queries()[1], limit)
            problems = check.verdict()
            assert not problems, "after insert: " + describe(problems)

        self.settled(store, found)

    @contract(since=3, group="stale-index")
    def test_stateful_sequences(self, store: Any) -> None:
        """Seeded sequences of upsert / insert / delete / replace, filters checked after each."""
        declared = self.caps(store)
        self.require(declared, "filter:eq")
        raws = [raw for raw in ({"u": "a"}, {"g": {"gte": 2}}, {"t": {"contains": "x"}},
                                {"OR": [{"u": "b"}, {"g": 0}]})
                if not missing_capabilities(parse_filter(raw), declared)]
        for seed in range(2):
            store.reset()
            self._run_sequence(store, random.Random(seed), raws)

    def _run_sequence(self, store: Any, rng: random.Random, raws: list[dict]) -> None:
        model: dict[str, Record] = {}
        pool = [f"s{n}" for n in range(10)]

        def make(rid: str) -> Record:
            return Record(id=rid, vector=[round(rng.gauss(0, 1), 6) for _ in range(self.dimension)],
                          payload={"u": rng.choice("abc"), "g": rng.randint(0, 3),
                                   "t": [t for t in "xyz" if rng.random() < 0.4]})

        for step in range(10):
            op = rng.choice(["upsert", "upsert", "insert", "delete"])
            if op == "insert" and caps.INSERT in self.caps(store):
                free = [i for i in pool if i not in model]
                batch = [make(i) for i in rng.sample(free, min(len(free), rng.randint(1, 3)))]
                store.insert(batch)
            elif op == "delete":
                gone = rng.sample(pool, 2)
                store.delete(gone)
                for i in gone:
                    model.pop(i, None)
                batch = []
            else:
                batch = [make(i) for i in rng.sample(pool, rng.randint(1, 3))]
                store.upsert(batch)
            model.update({r.id: r for r in batch})
            where = f"step {step} ({op})"
            self.settled(store, lambda w=where: self._agree(store, model, raws, w))

    def _agree(self, store: Any, model: dict[str, Record], raws: list[dict], where: str) -> None:
        current = list(model.values())
        assert store.count() == len(current), f"{where}: count() {store.count()} != {len(current)}"
        check = self._topk(store)
        for raw in raws:
            node = parse_filter(raw)
            want = {r.id for r in current if matches(node, r.payload)}
            assert store.count(node) == len(want), f"{where}: count({raw}) != {len(want)}"
            listed = {r.id: r.payload for r in store.list(filters=node)}
            assert set(listed) == want, f"{where}: list({raw}) {sorted(listed)} != {sorted(want)}"
            for rid, payload in listed.items():
                problem = payload_problem(f"{where}: list({raw}) {rid}", payload,
                                          model[rid].payload)
                assert not problem, problem
            self._check_query(store, check, current, node, data.query_vector(), 3)
        problems = check.verdict(min_recall=0.0)
        assert not problems, f"{where}: " + describe(problems)
