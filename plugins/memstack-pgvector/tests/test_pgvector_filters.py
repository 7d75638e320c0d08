"""SQL filters select exactly what the reference evaluator (memstack.filters.reference) does."""

from __future__ import annotations

import random
from typing import Any

import pytest

from memstack.filters import matches, parse_filter
from memstack.models import Record

DIM = 4
INJECTIONS = ["x' OR '1'='1", '") or true', "'; DROP TABLE memstack_c; --", "%s", "{}", "\\"]
STRINGS = ["a", "b", "B", "Z", "z", "é", "😀", "", "1", "true", "10", "9", "2024-07-01",
           "2024-12-31", *INJECTIONS]
NUMBERS: list[Any] = [0, 1, 1.0, -2, 2.5, 9, 10, 3, -0.5, 1e20, 2**53, 1e-7]
BOOLS = [True, False]


def _scalar(rng: random.Random) -> Any:
    pool = rng.choice([STRINGS, NUMBERS, BOOLS])
    return rng.choice(pool)


def _field_value(rng: random.Random, name: str) -> Any:
    if name == "s":
        return rng.choice(STRINGS)
    if name == "n":
        return rng.choice(NUMBERS)
    if name == "flag":
        return rng.choice(BOOLS)
    if name == "tags":
        kind = rng.random()
        if kind < 0.6:
            return [_scalar(rng) for _ in range(rng.randint(0, 3))]
        if kind < 0.7:
            return [[_scalar(rng)], {"k": _scalar(rng)}]  # nested: never equal to a scalar
        return _scalar(rng)
    # "mix": anything, including null and lists
    return rng.choice([_scalar(rng), _scalar(rng), None, [_scalar(rng)]])


def dataset(seed: int = 7, size: int = 240) -> list[Record]:
    rng = random.Random(seed)
    records = []
    for i in range(size):
        payload = {
            name: _field_value(rng, name)
            for name in ("s", "n", "flag", "tags", "mix")
            if rng.random() < 0.75
        }
        vec = [rng.uniform(-1, 1) for _ in range(DIM)]
        records.append(Record(id=f"r{i:04d}", vector=vec, payload=payload))
    return records


FIELDS = ["s", "n", "flag", "tags", "mix", "absent"]


def _comparison(rng: random.Random) -> dict[str, Any]:
    field = rng.choice(FIELDS)
    op = rng.choice(["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains"])
    if op in ("in", "nin"):
        pool = rng.choice([STRINGS, NUMBERS, BOOLS])
        value: Any = rng.sample(pool, rng.randint(1, min(3, len(pool))))
    elif op in ("gt", "gte", "lt", "lte"):
        value = rng.choice(rng.choice([STRINGS, NUMBERS]))
    else:
        value = _scalar(rng)
    return {field: {op: value}}


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth >= 3 or roll < 0.5:
        return _comparison(rng)
    if roll < 0.7:
        return {"NOT": random_filter(rng, depth + 1)}
    key = "AND" if roll < 0.85 else "OR"
    return {key: [random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))]}


@pytest.fixture(scope="module")
def seeded(pg_dsn: str) -> Any:
    """One collection with the seeded data set, shared by the tests of this module."""
    import uuid

    from memstack.registry import get_registry

    store = get_registry().build("vector_store", "pgvector", {
        "dsn": pg_dsn, "schema": f"f_{uuid.uuid4().hex[:12]}", "collection": "filters",
        "dimension": DIM,
    })
    records = dataset()
    store.upsert(records)
    yield store, records
    store.close()


def _expected(records: list[Record], raw: dict[str, Any]) -> list[str]:
    node = parse_filter(raw)
    return sorted(r.id for r in records if matches(node, r.payload))


def test_random_filters_match_reference(seeded: Any) -> None:
    store, records = seeded
    rng = random.Random(2024)
    nonempty = 0
    for _ in range(250):
        raw = random_filter(rng)
        node = parse_filter(raw)
        expected = _expected(records, raw)
        nonempty += bool(expected) and len(expected) < len(records)
        got = [r.id for r in store.list(filters=node)]
        assert got == expected, raw
        assert store.count(node) == len(expected), raw
    assert nonempty > 90  # the generated filters really discriminate


def test_random_filters_in_queries(seeded: Any) -> None:
    store, records = seeded
    rng = random.Random(99)
    for _ in range(60):
        raw = random_filter(rng)
        expected = set(_expected(records, raw))
        hits = store.query([0.3, -0.2, 0.9, 0.1], limit=len(records), filters=parse_filter(raw))
        assert {h.id for h in hits} == expected, raw


CASES: list[tuple[dict[str, Any], list[dict[str, Any]], list[int]]] = [
    # (filter, payloads, indexes expected to match)
    ({"k": {"ne": "a"}}, [{"k": "a"}, {"k": "b"}, {}, {"k": None}, {"k": ["b"]}], [1]),
    ({"k": {"nin": ["a"]}}, [{"k": "a"}, {"k": "b"}, {}, {"k": 1}], [1, 3]),
    ({"NOT": {"k": "a"}}, [{"k": "a"}, {"k": "b"}, {}, {"k": None}, {"k": ["a"]}], [1, 2, 3, 4]),
    ({"NOT": {"k": {"gt": 1}}}, [{"k": 2}, {"k": 0}, {}, {"k": "5"}], [1, 2, 3]),
    ({"k": 1}, [{"k": 1}, {"k": 1.0}, {"k": True}, {"k": "1"}, {"k": [1]}], [0, 1]),
    ({"k": True}, [{"k": True}, {"k": 1}, {"k": "true"}, {"k": [True]}], [0]),
    ({"k": {"ne": 1}}, [{"k": 1.0}, {"k": True}, {"k": "1"}, {"k": 2}], [1, 2, 3]),
    ({"k": {"in": [1, 2]}}, [{"k": 2.0}, {"k": True}, {"k": [1]}, {"k": 3}], [0]),
    ({"k": {"contains": 1}}, [{"k": [1.0, 5]}, {"k": 1}, {"k": [True]}, {"k": [[1]]}], [0]),
    ({"k": {"contains": "x"}}, [{"k": ["x", "y"]}, {"k": "x"}, {"k": ["xy"]}, {}], [0]),
    ({"k": {"gt": "Z"}}, [{"k": "a"}, {"k": "Y"}, {"k": "é"}, {"k": 5}, {"k": ["zz"]}], [0, 2]),
    ({"k": {"lt": "é"}}, [{"k": "z"}, {"k": "😀"}, {"k": "ê"}, {"k": "e"}], [0, 3]),
    ({"k": {"gte": "2024-07-01"}}, [{"k": "2024-07-01"}, {"k": "2024-06-30"},
                                    {"k": "2024-07-01T00:00:00"}], [0, 2]),
    ({"k": {"gte": 2, "lt": 3.5}}, [{"k": 2}, {"k": 3.5}, {"k": 3.4999}, {"k": "2"}, {"k": True}],
     [0, 2]),
    ({"k": {"gt": 1e15}}, [{"k": 1e20}, {"k": 2**60}, {"k": 10**15}], [0, 1]),
    ({"k": {"lte": 0}}, [{"k": -0.0}, {"k": False}, {"k": -1e-7}], [0, 2]),
    ({"OR": [{"k": "a"}, {"j": {"gt": 0}}]},
     [{"k": "a"}, {"j": 1}, {"k": "b", "j": 0}, {}], [0, 1]),
]


@pytest.mark.parametrize(("raw", "payloads", "want"), CASES)
def test_filter_cases(make_store: Any, raw: dict[str, Any], payloads: list[dict[str, Any]],
                      want: list[int]) -> None:
    store = make_store(collection="cases", dimension=2)
    store.upsert([Record(id=f"p{i}", vector=[1.0, float(i)], payload=p)
                  for i, p in enumerate(payloads)])
    node = parse_filter(raw)
    reference = [i for i, p in enumerate(payloads) if matches(node, p)]
    assert reference == want  # the case itself states the reference semantics
    assert [r.id for r in store.list(filters=node)] == [f"p{i}" for i in want]
    assert sorted(h.id for h in store.query([1.0, 1.0], limit=10, filters=node)) == \
        [f"p{i}" for i in want]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_values_are_matched_literally(make_store: Any, value: str) -> None:
    store = make_store(collection="inject", dimension=2)
    store.upsert([
        Record(id="hit", vector=[1.0, 0.0], payload={"user_id": value, "tags": [value]}),
        Record(id="other", vector=[0.0, 1.0], payload={"user_id": "alice", "tags": ["alice"]}),
    ])
    for raw in ({"user_id": value}, {"tags": {"contains": value}}, {"user_id": {"in": [value]}},
                {"user_id": {"gte": value, "lte": value}}):
        node = parse_filter(raw)
        assert [r.id for r in store.list(filters=node)] == ["hit"], raw
        assert [h.id for h in store.query([1.0, 1.0], limit=5, filters=node)] == ["hit"], raw
    node = parse_filter({"user_id": {"ne": value}})
    assert [r.id for r in store.list(filters=node)] == ["other"]
    assert store.count() == 2  # nothing was dropped or rewritten by the "payloads"


def test_sql_text_never_contains_values() -> None:
    from memstack_pgvector.sql_filters import where_clause
    from psycopg import sql

    secret = "x' OR '1'='1 -- SECRET"
    node = parse_filter({"OR": [{"a": secret}, {"b": {"gt": secret}}, {"c": {"nin": [secret]}},
                                {"NOT": {"d": {"contains": secret}}}, {"e": {"lte": 12345.5}}]})
    cond, params = where_clause(node)
    text = sql.Composed([cond]).as_string(None)
    assert "SECRET" not in text and "12345" not in text
    assert text.count("%s") == len(params)
    assert any(secret in str(getattr(p, "obj", p)) for p in params)


def test_scope_equality_matches_only_that_string(make_store: Any) -> None:
    """Scope fields are matched through their B-tree index (`->>`) and a jsonb equality, not
    containment: the result must still be the reference's (a number 5 and a list holding "5"
    have the text "5" or contain it, and neither equals the string "5")."""
    store = make_store(collection="scope_types")
    values: list[Any] = ["5", 5, 5.0, ["5"], {"v": "5"}, "55", None, True]
    records = [Record(id=f"r{i}", vector=[1.0, i / 10, 0.5, 0.25],
                      payload={"user_id": v, "agent_id": "5" if i % 2 else 5})
               for i, v in enumerate(values)] + [
        Record(id="missing", vector=[1.0, 0.0, 0.5, 0.25], payload={"agent_id": "5"})]
    store.upsert(records)
    for raw in ({"user_id": "5"}, {"agent_id": "5"}, {"user_id": "5", "agent_id": "5"},
                {"NOT": {"user_id": "5"}}, {"OR": [{"user_id": "55"}, {"run_id": "5"}]}):
        node = parse_filter(raw)
        want = {r.id for r in records if matches(node, r.payload)}
        got = {h.id for h in store.query([1, 0, 0, 0], limit=50, filters=node)}
        assert got == want, raw
        assert {r.id for r in store.list(filters=node)} == want, raw
        assert store.count(node) == len(want), raw
