"""Filters select exactly what the reference evaluator selects, on a real Chroma in every mode.

The data set mixes every case the semantics distinguish: ints and floats that are equal, bools
next to 0/1, strings that look like numbers, missing fields, None, list-valued fields (int,
float, mixed, empty), a dict, big ints, NaN, ±infinity, and neighbouring floats Chroma would
store as one. The filters are random trees (seeded) of every operator, string ranges included,
under AND / OR / NOT — both the parts Chroma evaluates and the ones checked in Python.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from memstack_chroma.encoding import Layout, from_order_key, order_key
from memstack_chroma.where import Plan, plan

from memstack.filters import And, Comparison, FilterNode, Not, Or, matches, parse_filter
from memstack.models import Record
from memstack.vectors import cosine

FIELDS = ("a", "b", "c", "zz")
# 123456789.12345679 and 123456789.1234568 are neighbouring floats Chroma stores as one value
SCALARS: list[Any] = [
    0, 1, 1.0, 2, 2.5, -1, -0.5, True, False, "a", "b", "1", "", "ü", 2**53, 2**53 - 1,
    123456789.12345679, 123456789.1234568, 1e-300, "2024-01-15", "2024-07-01",
    "2024-07-01T12:00:00", "B", "é",
]
STORED_ONLY: list[Any] = [
    None, [], [1, 2], [1.0, "a"], ["a", "b"], [True], [2.5, 2], [0.0], ["", "ü"], {"k": 1},
    2**70, -(2**64), 2**53 + 1, 2**62, math.inf, -math.inf, math.nan, -0.0,
]
OPS = ("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains")
N_FILTERS = 160


def dataset(seed: int = 7, n: int = 48) -> list[Record]:
    rng = random.Random(seed)
    pool = SCALARS + STORED_ONLY
    records = []
    for i in range(n):
        payload: dict[str, Any] = {}
        for field in FIELDS[:3]:
            if rng.random() < 0.8:
                payload[field] = rng.choice(pool)
        vector = [rng.uniform(-1, 1) for _ in range(4)]
        records.append(Record(id=f"r{i:02d}", vector=vector, payload=payload))
    return records


def _value(rng: random.Random, op: str) -> Any:
    if op in ("gt", "gte", "lt", "lte"):
        return rng.choice([v for v in SCALARS if not isinstance(v, bool)])
    if op in ("in", "nin"):
        family = rng.choice(["num", "str", "bool"])
        if family == "num":
            options = [v for v in SCALARS if isinstance(v, int | float) and not isinstance(v, bool)]
        elif family == "str":
            options = [v for v in SCALARS if isinstance(v, str)]
        else:
            options = [True, False]
        return tuple(rng.sample(options, rng.randint(1, min(3, len(options)))))
    return rng.choice(SCALARS)


def random_filter(rng: random.Random, depth: int = 0) -> FilterNode:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return And(tuple(random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))))
    if depth < 3 and roll < 0.4:
        return Or(tuple(random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))))
    if depth < 3 and roll < 0.55:
        return Not(random_filter(rng, depth + 1))
    op = rng.choice(OPS)
    return Comparison(rng.choice(FIELDS), op, _value(rng, op))  # type: ignore[arg-type]


def filters(seed: int = 11) -> list[FilterNode]:
    rng = random.Random(seed)
    out: list[FilterNode] = [random_filter(rng) for _ in range(N_FILTERS)]
    # every operator, plain and negated, on every field, at least once
    for op in OPS:
        for field in FIELDS:
            node = Comparison(field, op, _value(rng, op))  # type: ignore[arg-type]
            out += [node, Not(node)]
    return out


def expected(records: list[Record], node: FilterNode) -> set[str]:
    return {r.id for r in records if matches(node, r.payload)}


@pytest.fixture
def loaded(store):
    records = dataset()
    store.upsert(records)
    return store, records


def test_list_and_count_match_the_reference_evaluator(loaded):
    store, records = loaded
    checked = 0
    for node in filters():
        want = expected(records, node)
        got = [r.id for r in store.list(filters=node)]
        assert len(got) == len(set(got)), node
        assert set(got) == want, f"{node}\nwhere={plan(node, store._layout)}"
        assert store.count(node) == len(want), node
        checked += bool(want)
    assert checked > N_FILTERS // 4  # the filters do select things, not just nothing


def test_query_matches_the_reference_evaluator(loaded):
    store, records = loaded
    for node in filters()[:60]:
        want = expected(records, node)
        hits = store.query([0.5, 0.5, 0.5, 0.5], limit=len(records), filters=node)
        assert {h.id for h in hits} == want, f"{node}\nwhere={plan(node, store._layout)}"


def test_dict_filters_parsed_by_the_core(loaded):
    store, records = loaded
    cases = [
        {"a": 1},
        {"a": {"ne": 1}},
        {"NOT": {"a": {"ne": 1}}},
        {"a": {"in": [1, 2.5, 2**53]}},
        {"a": {"nin": [1, 2.5]}},
        {"a": {"gte": 0, "lt": 2.5}},
        {"a": {"contains": 2}},
        {"NOT": {"b": {"contains": "a"}}},
        {"OR": [{"a": True}, {"b": {"lte": -0.5}}]},
        {"NOT": {"OR": [{"a": {"gt": 0}}, {"c": "a"}]}},
    ]
    for raw in cases:
        node = parse_filter(raw)
        assert {r.id for r in store.list(filters=node)} == expected(records, node), raw


def test_string_ranges_are_checked_on_the_candidates(make_store):
    """Chroma cannot order strings: the rest of the filter goes to Chroma, the range is checked
    in Python, and `query` fetches more candidates until `limit` of them match."""
    store = make_store("memory", dimension=2)
    records = [
        Record(id=f"r{i:03d}", vector=[1.0, i / 10],
               payload={"day": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", "even": i % 2 == 0})
        for i in range(300)
    ]
    store.upsert(records)
    cases = [
        {"day": {"gte": "2024-12"}},
        {"AND": [{"day": {"lt": "2024-02"}}, {"even": True}]},
        {"OR": [{"day": {"gt": "2024-11-27"}}, {"NOT": {"even": True}}]},
        {"NOT": {"day": {"lte": "2024-06-30"}}},
    ]
    query = [1.0, 0.0]  # far from most records with late days: several rounds are needed
    for raw in cases:
        node = parse_filter(raw)
        want = [r for r in records if matches(node, r.payload)]
        assert [r.id for r in store.list(filters=node)] == [r.id for r in want], raw
        assert store.count(node) == len(want)
        assert [r.id for r in store.list(filters=node, limit=3, offset=2)] == [
            r.id for r in want[2:5]]
        hits = store.query(query, limit=5, filters=node)
        truth = sorted(want, key=lambda r: (-cosine(query, r.vector or []), r.id))[:5]
        assert [h.id for h in hits] == [r.id for r in truth], raw


def test_translation_shapes():
    """Spot checks of the plans (the behaviour is checked against Chroma above)."""
    keys = Layout.for_token("0123abcd")

    def exact(raw):
        p = plan(parse_filter(raw), keys)
        assert p.exact, raw
        return p.where

    def widened(raw):
        p = plan(parse_filter(raw), keys)
        assert not p.exact, raw
        return p.where

    assert plan(None, keys) == Plan(None, exact=True)
    one = order_key(1.0)
    assert exact({"user_id": "alice"}) == {"user_id": {"$eq": "alice"}}
    assert exact({"NOT": {"x": 1}}) == {"memstack:k:x": {"$ne": one}}
    assert exact({"x": {"in": [1, 1.0, 2.5]}}) == {"memstack:k:x": {"$in": [one, order_key(2.5)]}}
    assert exact({"x": {"gte": 1}}) == {"memstack:k:x": {"$gte": one}}
    assert exact({"t": {"contains": 1.0}}) == {"memstack:0123abcd:c:t": {"$contains": "n1"}}
    assert exact({"NOT": {"t": {"contains": "a"}}}) == {
        "memstack:0123abcd:c:t": {"$not_contains": "sa"}}
    assert exact({"NOT": {"OR": [{"a": True}, {"b": {"in": ["x"]}}]}}) == {
        "$and": [{"a": {"$ne": True}}, {"b": {"$nin": ["x"]}}]}
    # Chroma's $ne matches missing fields: a superset, checked by the store
    assert widened({"x": {"ne": "a"}}) == {"x": {"$ne": "a"}}
    assert widened({"u": "a", "x": {"nin": [1]}}) == {
        "$and": [{"u": {"$eq": "a"}}, {"memstack:k:x": {"$nin": [one]}}]}
    # NOT of ne / nin / ranges and string ranges: "true", within what the rest selects
    assert widened({"NOT": {"n": {"gt": 3}}}) is None
    assert widened({"u": "a", "d": {"gte": "2024"}}) == {"u": {"$eq": "a"}}
    assert widened({"OR": [{"u": "a"}, {"d": {"lt": "x"}}]}) is None
    assert widened({"AND": [{"u": "a"}, {"NOT": {"x": {"ne": 2}}}]}) == {"u": {"$eq": "a"}}


def test_order_keys_sort_like_the_numbers():
    values = sorted({0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 5e-324, 2.0**53, -(2.0**53), 0.1,
                     123456789.12345679, 1.7976931348623157e308, -math.inf, math.inf})
    keys = [order_key(v) for v in values]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert [from_order_key(k) for k in keys] == values
    assert order_key(-0.0) == order_key(0.0)
