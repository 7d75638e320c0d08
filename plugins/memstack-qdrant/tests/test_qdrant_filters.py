"""Filters: the Qdrant translation selects exactly what the reference evaluator selects."""

from __future__ import annotations

import random

import pytest

from memstack.errors import UnsupportedFeature
from memstack.filters import And, Comparison, FilterNode, Not, Or, matches, parse_filter, to_dict
from memstack.models import Record

FIELDS = ("a", "b", "tags", "missing_everywhere")
VALUES = {
    "num": [0, 1, 2, -1, 1.0, 2.5, 0.0, 1.5, 10],
    "str": ["x", "y", "", "1", "é", "X", "x' OR '1'='1", '") or true'],
    "bool": [True, False],
}


def _scalar(rng: random.Random, fam: str | None = None):
    return rng.choice(VALUES[fam or rng.choice(list(VALUES))])


def _value(rng: random.Random):
    k = rng.random()
    if k < 0.55:
        return _scalar(rng)
    if k < 0.65:
        return None
    if k < 0.95:
        return [_scalar(rng) for _ in range(rng.randint(0, 3))]
    return {"k": _scalar(rng)}


def _payload(rng: random.Random) -> dict:
    return {f: _value(rng) for f in FIELDS[:3] if rng.random() < 0.75}


def _node(rng: random.Random, depth: int = 0) -> FilterNode:
    if depth < 3 and rng.random() < 0.3:
        kind = rng.choice(["and", "or", "not"])
        if kind == "not":
            return Not(_node(rng, depth + 1))
        children = tuple(_node(rng, depth + 1) for _ in range(rng.randint(2, 3)))
        return And(children) if kind == "and" else Or(children)
    op = rng.choice(["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains"])
    field = rng.choice(FIELDS)
    if op in ("in", "nin"):
        fam = rng.choice(list(VALUES))
        return Comparison(field, op, tuple(_scalar(rng, fam) for _ in range(rng.randint(1, 3))))
    if op in ("gt", "gte", "lt", "lte"):
        return Comparison(field, op, _scalar(rng, "num"))
    return Comparison(field, op, _scalar(rng))


def _seeded_records(seed: int, n: int) -> list[Record]:
    rng = random.Random(seed)
    return [
        Record(id=f"r{i}", vector=[1.0, rng.random(), rng.random(), rng.random()],
               payload=_payload(rng))
        for i in range(n)
    ]


def _check(store, records: list[Record], node: FilterNode) -> None:
    want = {r.id for r in records if matches(node, r.payload)}
    got = {r.id for r in store.list(filters=node)}
    assert got == want, f"filter {to_dict(node)}: extra {got - want}, missing {want - got}"
    assert store.count(node) == len(want)
    hits = store.query([1.0, 0.5, 0.5, 0.5], limit=len(records), filters=node)
    assert {h.id for h in hits} == want


def test_random_filters_match_reference(mem_store):
    """Own seeded data (None, objects, injection strings); the contract suite adds its own."""
    store = mem_store
    records = _seeded_records(1, 150)
    store.upsert(records)
    rng = random.Random(1001)
    sizes = []
    for _ in range(150):
        node = _node(rng)
        _check(store, records, node)
        sizes.append(sum(matches(node, r.payload) for r in records))
    # the generator is not degenerate: it selects none, some and all
    assert min(sizes) == 0 and max(sizes) == len(records)
    assert sum(0 < s < len(records) for s in sizes) > 75


CASES = [
    # (filter, ids expected) over the fixed records below
    ({"n": 1}, {"int1", "float1"}),
    ({"n": 1.0}, {"int1", "float1"}),
    ({"n": {"ne": 1}}, {"int2", "bool_t", "str1", "float25"}),
    ({"n": True}, {"bool_t"}),
    ({"n": {"in": [1, 2]}}, {"int1", "float1", "int2"}),
    ({"n": {"in": [True]}}, {"bool_t"}),
    ({"n": {"nin": [1]}}, {"int2", "bool_t", "str1", "float25"}),
    ({"n": {"gt": 1}}, {"int2", "float25"}),
    ({"n": {"gte": 1}}, {"int1", "float1", "int2", "float25"}),
    ({"n": {"lt": 1.5}}, {"int1", "float1"}),
    ({"n": "1"}, {"str1"}),
    ({"n": {"contains": 1}}, {"list1"}),
    ({"n": {"contains": "1"}}, set()),
    ({"NOT": {"n": 1}}, {"int2", "bool_t", "str1", "float25", "list1", "none", "absent"}),
    ({"NOT": {"n": {"ne": 1}}}, {"int1", "float1", "list1", "none", "absent"}),
    ({"OR": [{"n": 2}, {"n": {"contains": 1}}]}, {"int2", "list1"}),
    ({"AND": [{"n": {"gte": 1}}, {"n": {"lte": 2}}]}, {"int1", "float1", "int2"}),
]


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_type_rules(mem_store, raw, expected):
    records = [
        Record(id="int1", vector=[1, 0, 0, 0], payload={"n": 1}),
        Record(id="float1", vector=[1, 0, 0, 0], payload={"n": 1.0}),
        Record(id="int2", vector=[1, 0, 0, 0], payload={"n": 2}),
        Record(id="float25", vector=[1, 0, 0, 0], payload={"n": 2.5}),
        Record(id="bool_t", vector=[1, 0, 0, 0], payload={"n": True}),
        Record(id="str1", vector=[1, 0, 0, 0], payload={"n": "1"}),
        Record(id="list1", vector=[1, 0, 0, 0], payload={"n": [1, "x"]}),
        Record(id="none", vector=[1, 0, 0, 0], payload={"n": None}),
        Record(id="absent", vector=[1, 0, 0, 0], payload={"other": 1}),
    ]
    mem_store.upsert(records)
    node = parse_filter(raw)
    assert {r.id for r in records if matches(node, r.payload)} == expected  # the reference
    _check(mem_store, records, node)


def test_injection_strings_are_matched_literally(store):
    nasty = ["x' OR '1'='1", '") or true', "a\\\"b", "*", "%", "_memstack_id", "user_id:*"]
    records = [
        Record(id=f"n{i}", vector=[1, 0, 0, 0], payload={"user_id": v}) for i, v in enumerate(nasty)
    ]
    records.append(Record(id="plain", vector=[1, 0, 0, 0], payload={"user_id": "alice"}))
    store.upsert(records)
    for i, v in enumerate(nasty):
        node = parse_filter({"user_id": v})
        assert [r.id for r in store.list(filters=node)] == [f"n{i}"]
        assert store.count(parse_filter({"user_id": {"ne": v}})) == len(records) - 1
    assert store.count(parse_filter({"user_id": {"in": nasty}})) == len(nasty)
    # a filter on the reserved key sees nothing: user fields only
    assert store.count(parse_filter({"_memstack_id": "plain"})) == 0
    assert store.count(parse_filter({"_memstack_nonscalar": {"ne": "x"}})) == 0
    assert store.count(parse_filter({"NOT": {"_memstack_id": "plain"}})) == len(records)


def test_scope_filter_isolates_users(store):
    store.upsert([
        Record(id="a1", vector=[1, 0, 0, 0], payload={"user_id": "alice", "text": "a"}),
        Record(id="b1", vector=[1, 0, 0, 0], payload={"user_id": "bob", "text": "b"}),
        Record(id="a2", vector=[0, 1, 0, 0], payload={"user_id": "alice", "agent_id": "x"}),
    ])
    alice = parse_filter({"user_id": "alice"})
    assert {h.id for h in store.query([1, 0, 0, 0], limit=10, filters=alice)} == {"a1", "a2"}
    both = parse_filter({"user_id": "alice", "agent_id": "x"})
    assert [r.id for r in store.list(filters=both)] == ["a2"]


def test_string_ranges_are_refused_not_ignored(store):
    store.upsert([Record(id="d", vector=[1, 0, 0, 0], payload={"created_at": "2024-07-01"})])
    node = parse_filter({"created_at": {"gte": "2024-01-01"}})
    for call in (
        lambda: store.list(filters=node),
        lambda: store.count(node),
        lambda: store.query([1, 0, 0, 0], limit=1, filters=node),
    ):
        with pytest.raises(UnsupportedFeature, match="filter:range_str"):
            call()
