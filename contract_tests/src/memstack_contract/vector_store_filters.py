"""Filter, generated-filter and pagination tests of the vector store contract (a suite mixin)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from memstack import capabilities as caps
from memstack.capabilities import FILTER_OPS
from memstack.errors import FilterError
from memstack.filters import FilterNode, matches, missing_capabilities, parse_filter
from memstack_contract import data, guard
from memstack_contract.filter_checks import (
    LOGICAL_CASES,
    MALFORMED_FILTERS,
    OP_CASES,
    check_filter_cases,
    filter_problems,
    unsupported_problems,
)
from memstack_contract.strategies import filter_dicts
from memstack_contract.versioning import contract


@guard.suite_class
class FilterTests:
    """Mixed into `VectorStoreContract`; relies on its `store`, `load`, `caps` and `require`."""

    # ---- filters --------------------------------------------------------------------------
    @contract(since=1, group="filters")
    @pytest.mark.parametrize(("op", "family"), OP_CASES)
    def test_filter_operator(self, store: Any, op: str, family: str) -> None:
        """`op` with `family` operands on every field (each value type, and missing fields)."""
        records = data.filter_records()
        self.load(store, records)
        operands = data.IN_OPERANDS[family] if op in ("in", "nin") else data.OPERANDS[family]
        raws = [{field: {op: v}} for field in data.FILTER_FIELDS for v in operands]
        check_filter_cases(store, self.caps(store), records, raws)

    @contract(since=1, group="filters")
    @pytest.mark.parametrize("case", list(LOGICAL_CASES))
    def test_filter_logical(self, store: Any, case: str) -> None:
        records = data.filter_records()
        self.load(store, records)
        check_filter_cases(store, self.caps(store), records, [LOGICAL_CASES[case]])

    @contract(since=1, group="filters")
    def test_malformed_filters_raise_filter_error(self, store: Any) -> None:
        for raw in MALFORMED_FILTERS:
            with pytest.raises(FilterError):
                parse_filter(raw)
        assert store.count() == 0

    # ---- generated filters ----------------------------------------------------------------
    @contract(since=1, group="generated-filters")
    def test_generated_filters_match_reference(self, store: Any, hypothesis_settings) -> None:
        declared = self.caps(store)
        strategy = filter_dicts(declared)
        if strategy is None:
            self.require(declared, "filter:eq")
        records = data.filter_records()
        self.load(store, records)

        @hypothesis_settings
        @given(raw=strategy)
        def check(raw: dict[str, Any]) -> None:
            node = parse_filter(raw)
            assert node is not None
            missing = missing_capabilities(node, declared)
            problems = (unsupported_problems(store, node, missing) if missing
                        else filter_problems(store, records, node))
            assert not problems, (
                f"filter {json.dumps(raw, ensure_ascii=False)}: " + " | ".join(problems)
            )

        check()

    @contract(since=1, group="filters")
    def test_undeclared_filters_raise(self, store: Any) -> None:
        """Every filter capability the store does not declare raises UnsupportedFeature."""
        declared = self.caps(store)
        samples: dict[str, Any] = {
            **{f"filter:{op}": {"i": {op: [1, 2] if op in ("in", "nin") else 2}}
               for op in FILTER_OPS if op != "contains"},
            "filter:contains": {"tags": {"contains": "red"}},
            caps.FILTER_AND: {"AND": [{"i": 1}, {"b": True}]},
            caps.FILTER_OR: {"OR": [{"i": 1}, {"b": True}]},
            caps.FILTER_NOT: {"NOT": {"i": 1}},
            caps.FILTER_RANGE_STR: {"s": {"gte": "beta"}},
        }
        self.load(store, data.filter_records())
        failures = []
        for cap, raw in samples.items():
            if cap in declared:
                continue
            node = parse_filter(raw)
            assert node is not None
            problems = unsupported_problems(store, node, missing_capabilities(node, declared))
            failures += [f"{cap} {raw}: {p}" for p in problems]
        assert not failures, "\n".join(failures)

    # ---- pagination -----------------------------------------------------------------------
    def _pages(self, store: Any, size: int, filters: FilterNode | None = None) -> list[list[str]]:
        pages, offset = [], 0
        for _ in range(1000):
            page = store.list(filters=filters, limit=size, offset=offset)
            assert len(page) <= size, f"list(limit={size}) returned {len(page)} records"
            if not page:
                return pages
            pages.append([r.id for r in page])
            offset += size
        raise AssertionError("list() pages never ended")

    @contract(since=1, group="pagination")
    def test_list_pages_cover_all(self, store: Any) -> None:
        records = data.filter_records()
        self.load(store, records)
        full = [r.id for r in store.list()]
        assert len(full) == len(set(full)) == len(records)
        assert full == [r.id for r in store.list()], "list() order is not stable"
        pages = self._pages(store, 7)
        flat = [i for p in pages for i in p]
        assert len(flat) == len(set(flat)), "pages repeat records"
        assert set(flat) == {r.id for r in records}, "pages skip records"
        assert flat == full, "pages are not slices of the unpaged order"
        assert all(len(p) == 7 for p in pages[:-1])
        assert store.list(limit=7, offset=len(records)) == []
        assert store.list(offset=len(records) + 100) == []
        assert len(store.list(offset=60)) == len(records) - 60
        assert store.count() == len(flat)
        by_id = {r.id: r.payload for r in records}
        for r in store.list(limit=5, offset=10):
            assert r.payload == by_id[r.id]

    @contract(since=1, group="pagination")
    def test_list_pages_with_filter(self, store: Any) -> None:
        self.require(self.caps(store), "filter:eq")
        records = data.filter_records()
        self.load(store, records)
        node = parse_filter({"b": True})
        want = {r.id for r in records if matches(node, r.payload)}
        flat = [i for p in self._pages(store, 5, node) for i in p]
        assert len(flat) == len(set(flat)), "filtered pages repeat records"
        assert set(flat) == want
        assert store.count(node) == len(want)

