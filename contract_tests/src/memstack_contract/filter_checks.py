"""Filter cases and the comparison of a store's answers with the reference evaluator.

`filter_problems` runs one filter tree through `count`, `list` and `query` and says, in words, how
the store disagrees with `memstack.filters.matches` (with the offending records' field values).
`unsupported_problems` checks that a filter needing an undeclared capability raises
`UnsupportedFeature` in all three calls instead of being ignored.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from memstack.capabilities import FILTER_OPS, QUERY_IDS
from memstack.errors import UnsupportedFeature
from memstack.filters import (
    And,
    Comparison,
    FilterNode,
    Not,
    Or,
    matches,
    missing_capabilities,
    parse_filter,
    to_dict,
)
from memstack.models import Record
from memstack_contract import data
from memstack_contract.reasons import reason_for

RANGE_OPS = ("gt", "gte", "lt", "lte")
FAMILIES = ("str", "int", "float", "bool")
OP_CASES = [
    pytest.param(op, fam, id=f"{op}-{fam}")
    for op in FILTER_OPS
    for fam in FAMILIES
    if not (op in RANGE_OPS and fam == "bool")  # the parser rejects these (FilterError)
]
LOGICAL_CASES: dict[str, dict[str, Any]] = {
    "and": {"AND": [{"i": {"gte": 0}}, {"b": True}]},
    "or": {"OR": [{"s": "alpha"}, {"i": {"lt": 0}}]},
    "not": {"NOT": {"b": True}},
    "not-missing-field": {"NOT": {"nope": {"eq": "x"}}},
    "not-ne": {"NOT": {"i": {"ne": 2}}},
    "not-nin": {"NOT": {"s": {"nin": ["alpha", "beta"]}}},
    "not-contains": {"NOT": {"tags": {"contains": "red"}}},
    "double-not": {"NOT": {"NOT": {"s": "alpha"}}},
    "implicit-and": {"b": True, "i": {"gte": 0, "lt": 3}},
    "or-with-missing": {"OR": [{"nope": 1}, {"f": {"gte": 2}}]},
    "nested": {
        "OR": [
            {"AND": [{"tags": {"contains": "red"}}, {"f": {"gt": 0.5}}]},
            {"NOT": {"OR": [{"b": True}, {"mixed": {"eq": 2}}]}},
        ]
    },
    "dates": {"AND": [{"date": {"gte": "2024-01-01"}}, {"date": {"lt": "2024-07-01T"}}]},
}
MALFORMED_FILTERS: list[Any] = [
    {"AND": []},
    {"OR": {"a": 1}},
    {"NOT": [{"a": 1}]},
    {"and": [{"a": 1}]},
    {"$or": [{"a": 1}]},
    {"eq": 1},
    {"a": [1, 2]},
    {"a": {}},
    {"a": {"between": [1, 2]}},
    {"a": {"in": []}},
    {"a": {"in": "abc"}},
    {"a": {"in": [1, "x"]}},
    {"a": {"gte": True}},
    {"a": {"eq": None}},
    {"a": None},
    {"a": {"eq": float("nan")}},
    {"a": {"eq": {"nested": 1}}},
    {"a": {"eq": 2**60}},
    {"1a": 1},
    {"a.b": 1},
    {"a; DROP TABLE memories; --": 1},
    {"": 1},
    "user_id = 'alice'",
    [{"a": 1}],
]


def _fields(node: FilterNode | None) -> set[str]:
    if isinstance(node, Comparison):
        return {node.field}
    if isinstance(node, And | Or):
        return set().union(*(_fields(c) for c in node.children))
    if isinstance(node, Not):
        return _fields(node.child)
    return set()


def _show_record(record: Record, fields: Sequence[str]) -> str:
    shown = ", ".join(
        f"{f}={record.payload[f]!r}" if f in record.payload else f"{f}=<missing>" for f in fields
    )
    return f"{record.id} ({shown})"


def _compare_ids(
    call: str, got: list[str], want: set[str], records: dict[str, Record], fields: list[str]
) -> list[str]:
    out = []
    dupes = sorted({i for i in got if got.count(i) > 1})
    if dupes:
        out.append(f"{call} repeats {dupes[:5]}")
    extra = [records[i] if i in records else Record(id=i) for i in sorted(set(got) - want)]
    missing = [records[i] for i in sorted(want - set(got))]
    if extra:
        shown = "; ".join(_show_record(r, fields) for r in extra[:4])
        out.append(f"{call} returned {len(extra)} record(s) the reference excludes: {shown}")
    if missing:
        shown = "; ".join(_show_record(r, fields) for r in missing[:4])
        out.append(f"{call} left out {len(missing)} record(s) the reference selects: {shown}")
    return out


def filter_problems(store: Any, records: list[Record], node: FilterNode) -> list[str]:
    """How `store` disagrees with the reference evaluator on `node`, for count, list and query."""
    want = {r.id for r in records if matches(node, r.payload)}
    by_id = {r.id: r for r in records}
    fields = sorted(_fields(node))
    out = []
    n = store.count(node)
    if n != len(want):
        out.append(f"count() = {n}, reference = {len(want)}")
    listed = [r.id for r in store.list(filters=node)]
    out += _compare_ids("list()", listed, want, by_id, fields)
    hits = store.query(data.query_vector(), limit=len(records) + 10, filters=node)
    out += _compare_ids("query()", [h.id for h in hits], want, by_id, fields)
    scores = [h.score for h in hits]
    if any(a < b - 1e-6 for a, b in itertools.pairwise(scores)):
        out.append("query() hits are not sorted by score, descending")
    return out


def unsupported_problems(store: Any, node: FilterNode, missing: set[str]) -> list[str]:
    """A filter needing undeclared capabilities must raise UnsupportedFeature in every call."""
    out = []
    calls: dict[str, Callable[[], Any]] = {
        "count()": lambda: store.count(node),
        "list()": lambda: store.list(filters=node),
        "query()": lambda: store.query(data.query_vector(), limit=5, filters=node),
    }
    if QUERY_IDS in getattr(store, "capabilities", ()):
        calls["query_ids()"] = lambda: store.query_ids(data.query_vector(), limit=5,
                                                       filters=node)
    for name, call in calls.items():
        try:
            call()
        except UnsupportedFeature:
            continue
        except Exception as exc:
            out.append(f"{name} raised {type(exc).__name__}: {exc} instead of UnsupportedFeature")
        else:
            out.append(
                f"{name} did not raise UnsupportedFeature although {sorted(missing)} is not "
                "declared: the filter was ignored or translated without declaring it"
            )
    return out



def check_filter_cases(
    store: Any, declared: frozenset[str], records: list[Record], raws: list[Any]
) -> None:
    """Fail on any disagreement; skip (standard reason) if every case needs an undeclared cap."""
    failures: list[str] = []
    missing_seen: set[str] = set()
    supported = 0
    for raw in raws:
        node = parse_filter(raw)
        assert node is not None
        missing = missing_capabilities(node, declared)
        if missing:
            missing_seen |= missing
            problems = unsupported_problems(store, node, missing)
        else:
            supported += 1
            problems = filter_problems(store, records, node)
        if problems:
            failures.append(f"filter {json.dumps(to_dict(node), ensure_ascii=False)}: "
                            + " | ".join(problems))
    assert not failures, (
        failures[0]
        + (f"\n({len(failures)} of {len(raws)} filters disagree with memstack.filters.matches;"
           " more:)\n" + "\n".join(failures[1:12]) if len(failures) > 1 else "")
    )
    if not supported:
        pytest.skip(reason_for(sorted(missing_seen)[0]))
