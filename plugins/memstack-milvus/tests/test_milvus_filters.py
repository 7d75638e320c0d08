"""Filters on Milvus Lite select exactly what the reference evaluator selects.

A seeded data set full of awkward values (every type family in one field, missing fields, None,
lists, long strings sharing prefixes, quotes and injection attempts, huge and infinite numbers) is
queried with hand-written and generated filters through list, count and query.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from memstack_milvus.encoding import SHORT_BYTES
from memstack_milvus.expr import Translator
from milvus_helpers import DIM, build_store

from memstack.errors import UnsupportedFeature
from memstack.filters import And, Comparison, Not, Or, matches, parse_filter
from memstack.models import Record

LONG = "L" * 600
STRINGS = [
    "", "a", "b", "alice", "Alice", "é", "😀", "\uffff", "\U0010ffff", "1", "true", "null",
    "2024-07-01", "2024-12-31", 'a"b', "a'b", "a\\b", "\\", "\\\\", "x' OR '1'='1",
    '") or true', '\\" or 1==1 or \\"', "\n", "\x00", "\ud800", " ", "a b",
    LONG, LONG + "a", LONG + "b", "L" * SHORT_BYTES, "L" * (SHORT_BYTES - 1) + "é", "M" * 1000,
]
NUMBERS = [0, 1, -1, 1.0, 1.5, -0.0, 2, 2.5, -2.5, 3, 2**53, 2**53 + 1, 2**63, 2**64, 10**400,
           1e300, -1e300, float("inf"), float("-inf"), float("nan"), 0.1]
BOOLS = [True, False]
LISTS = [[], ["a", "b"], [1, 2.5], [True], ["a", 1, True], [["nested"]], [LONG], [1.0],
         [2**70], ["é", "x' OR '1'='1"], [False, 0], [{"k": 1}], [float("inf"), 3]]
OTHER = [None, {"k": 1}, {}]
FIELDS = ("f", "g", "s", "n", "tags")

# values filters may use (what the parser accepts)
Q_STRINGS = [s for s in STRINGS if s != "\ud800"] + ["c", "L" * 700, LONG + "a" * 50, "zzz"]
Q_NUMBERS = [0, 1, -1, 1.0, 1.5, -0.0, 2, 2.5, -2.5, 3, 2**53, -(2**53), 1e300, 0.1, 7]


def _value(rng: random.Random, field: str) -> Any:
    pools = {
        "s": [STRINGS] * 6 + [NUMBERS, BOOLS, LISTS, OTHER],
        "n": [NUMBERS] * 6 + [STRINGS, BOOLS, LISTS, OTHER],
        "tags": [LISTS] * 6 + [STRINGS, NUMBERS, BOOLS, OTHER],
    }.get(field, [STRINGS, NUMBERS, BOOLS, LISTS, OTHER])
    return rng.choice(rng.choice(pools))


def make_records(n: int = 160, seed: int = 7) -> list[Record]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        payload = {f: _value(rng, f) for f in FIELDS if rng.random() > 0.2}
        vector = [rng.uniform(-1, 1) for _ in range(DIM)]
        records.append(Record(id=f"r{i:03d}", vector=vector, payload=payload))
    # one record per interesting value in `f`, so every value is present at least once
    for j, v in enumerate(STRINGS + NUMBERS + BOOLS + LISTS + OTHER):
        records.append(Record(id=f"v{j:03d}", vector=[1.0, 0.5, 0.0, float(j % 3)],
                              payload={"f": v}))
    return records


def _q_value(rng: random.Random) -> Any:
    return rng.choice(rng.choice([Q_STRINGS, Q_STRINGS, Q_NUMBERS, BOOLS]))


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        return {"NOT": random_filter(rng, depth + 1)}
    if depth < 3 and roll < 0.35:
        key = rng.choice(["AND", "OR"])
        return {key: [random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))]}
    field = rng.choice((*FIELDS, "absent"))
    op = rng.choice(["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains"])
    if op in ("in", "nin"):
        pool = rng.choice([Q_STRINGS, Q_NUMBERS, BOOLS])
        return {field: {op: rng.sample(pool, rng.randint(1, min(4, len(pool))))}}
    value = _q_value(rng)
    if op in ("gt", "gte", "lt", "lte") and isinstance(value, bool):
        value = rng.choice(Q_NUMBERS)
    return {field: {op: value}}


HAND_WRITTEN: list[dict[str, Any]] = [
    {"f": 1}, {"f": 1.0}, {"f": True}, {"f": "1"}, {"f": {"ne": 1}}, {"f": {"ne": "a"}},
    {"NOT": {"f": 1}}, {"NOT": {"f": {"ne": 1}}}, {"f": {"nin": [1, 2]}},
    {"NOT": {"f": {"nin": ["a"]}}}, {"f": {"in": [True]}}, {"f": {"in": [0]}},
    {"f": {"gt": 1}}, {"f": {"gte": 1.5}}, {"f": {"lt": 0}}, {"f": {"lte": -0.0}},
    {"f": {"gt": 2**53}}, {"f": {"gt": 1e300}}, {"f": {"lt": -1e300}}, {"f": {"gte": 2.5}},
    {"f": {"gt": "a"}}, {"f": {"lt": "b"}}, {"f": {"gte": ""}}, {"f": {"gt": "\uffff"}},
    {"f": {"lt": "😀"}}, {"f": {"gt": LONG}}, {"f": {"gte": LONG}}, {"f": {"lt": LONG + "b"}},
    {"f": {"lte": LONG + "a"}}, {"f": {"gt": "L" * SHORT_BYTES}}, {"f": {"gt": "L" * 511}},
    {"f": {"lt": "L" * 700}}, {"f": {"gt": LONG + "a" * 50}}, {"f": LONG}, {"f": "M" * 1000},
    {"f": {"contains": "a"}}, {"f": {"contains": 1}}, {"f": {"contains": True}},
    {"f": {"contains": LONG}}, {"f": {"contains": 2.5}}, {"f": {"contains": 0}},
    {"f": {"contains": False}}, {"NOT": {"f": {"contains": "a"}}},
    {"f": "x' OR '1'='1"}, {"f": '") or true'}, {"f": '\\" or 1==1 or \\"'}, {"f": "a\\b"},
    {"f": 'a"b'}, {"f": "a'b"}, {"f": "\\"}, {"f": "\x00"}, {"f": "\n"}, {"f": ""},
    {"absent": 1}, {"NOT": {"absent": 1}}, {"absent": {"ne": 1}},
    {"OR": [{"f": 1}, {"f": "a"}]}, {"AND": [{"f": {"gt": 0}}, {"f": {"lt": 2}}]},
    {"NOT": {"OR": [{"f": {"ne": 1}}, {"g": {"contains": "a"}}]}},
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    """One collection with the data set, for every test of this module."""
    store = build_store(uri=str(tmp_path_factory.mktemp("filters") / "f.db"),
                        collection="filters", page_size=64)
    records = make_records()
    store.upsert(records)
    yield store, {r.id: r.payload for r in records}
    store.close()


def _check(store: Any, payloads: dict[str, dict], raw: dict[str, Any], search: bool = True) -> None:
    node = parse_filter(raw)
    expected = sorted(i for i, p in payloads.items() if matches(node, p))
    listed = [r.id for r in store.list(filters=node)]
    assert sorted(listed) == expected, raw
    assert store.count(node) == len(expected), raw
    if search:
        hits = store.query([1.0, 0.0, 0.0, 0.0], limit=len(payloads), filters=node)
        assert sorted(h.id for h in hits) == expected, raw


@pytest.mark.parametrize("raw", HAND_WRITTEN, ids=[str(i) for i in range(len(HAND_WRITTEN))])
def test_hand_written_filters_match_the_reference(loaded, raw: dict[str, Any]) -> None:
    _check(*loaded, raw)


def test_generated_filters_match_the_reference(loaded) -> None:
    rng = random.Random(2024)
    for i in range(160):  # search shares the filter path with list/count: every 4th is enough
        _check(*loaded, random_filter(rng), search=i % 4 == 0)


def test_deepest_filter_the_parser_allows_runs(loaded) -> None:
    store, payloads = loaded
    raw: dict[str, Any] = {"f": {"ne": 1}}
    for level in range(15):  # NOT and AND alternate: 31 levels of nesting, all the parser takes
        raw = {"NOT": raw} if level % 2 else {"AND": [raw, {"g": {"ne": "zzz"}}]}
    raw = {"NOT": raw}
    _check(store, payloads, raw)


def test_not_includes_records_without_the_field(loaded) -> None:
    store, payloads = loaded
    without = {i for i, p in payloads.items() if "n" not in p}
    assert without  # the data set has some
    got = {r.id for r in store.list(filters=parse_filter({"NOT": {"n": {"ne": -12345}}}))}
    assert without <= got
    assert not without & {r.id for r in store.list(filters=parse_filter({"n": {"ne": -12345}}))}


def test_injection_attempts_match_only_themselves(loaded) -> None:
    store, payloads = loaded
    for value in ["x' OR '1'='1", '") or true', '\\" or 1==1 or \\"', "a\\b", 'a"b', "a'b"]:
        got = {r.id for r in store.list(filters=parse_filter({"f": value}))}
        assert got and all(payloads[i]["f"] == value for i in got), value
    assert store.count(parse_filter({"f": "' or true or '"})) == 0


def test_expressions_carry_no_user_text() -> None:
    """String values become hex digits: quotes, backslashes and keywords never reach Milvus."""
    for value in ["x' OR '1'='1", '") or true', '\\" or 1==1 or \\"', "é"]:
        for op in ("eq", "gt", "contains"):
            expr = Translator().build(Comparison("f", op, value))  # type: ignore[arg-type]
            assert "OR" not in expr and "'" not in expr and "\\" not in expr
            assert value.encode().hex() in expr


def test_hand_built_trees_are_checked() -> None:
    """Trees that bypass the parser still cannot smuggle a field name or a value type in."""
    with pytest.raises(ValueError, match="not an identifier"):
        Translator().build(Comparison('f"] or true or ["', "eq", 1))
    with pytest.raises(ValueError, match="finite"):
        Translator().build(Comparison("f", "gt", math.inf))
    with pytest.raises(ValueError):
        Translator().build(Comparison("f", "eq", [1]))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Translator().build(And(()))
    expr = Translator().build(Not(Not(Or((Comparison("f", "eq", 1), Comparison("f", "eq", 2))))))
    assert not expr.startswith("not")


def test_undeclared_capability_raises(make_store) -> None:
    store = make_store()
    store.capabilities = store.capabilities - {"filter:contains"}
    with pytest.raises(UnsupportedFeature):
        store.list(filters=parse_filter({"tags": {"contains": "a"}}))
    with pytest.raises(UnsupportedFeature):
        store.query([1.0, 0, 0, 0], limit=1, filters=parse_filter({"tags": {"contains": "a"}}))
    with pytest.raises(UnsupportedFeature):
        store.count(parse_filter({"tags": {"contains": "a"}}))
