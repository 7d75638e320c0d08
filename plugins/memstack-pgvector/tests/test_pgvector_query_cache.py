"""Query statements are composed once per filter shape and cached: values never reach them."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from memstack.filters import parse_filter
from memstack.models import Record

SECRET = "x' OR '1'='1 -- SECRET"


def _records() -> list[Record]:
    users = ["alice", "bob", "carol", SECRET]
    return [
        Record(id=f"r{i:02d}", vector=[1.0, i / 10, 0.5, (i % 3) / 3],
               payload={"user_id": users[i % 4], "n": i, "tags": [users[i % 4]]})
        for i in range(24)
    ]


def _expected(records: list[Record], users: set[str]) -> set[str]:
    return {r.id for r in records if r.payload["user_id"] in users}


def test_shapes_not_values_or_fields_pick_the_statement() -> None:
    from memstack_pgvector.sql_filters import bind

    a_shape, a_params = bind(parse_filter({"topic": "alice"}))
    b_shape, b_params = bind(parse_filter({"other_field": SECRET}))
    assert a_shape == b_shape and a_params != b_params
    # a scope field's name is in the shape (one of three constants, for its B-tree index);
    # its value is not
    u_shape, u_params = bind(parse_filter({"user_id": SECRET}))
    assert u_shape == ("scope", "user_id") and SECRET in u_params
    assert bind(parse_filter({"agent_id": SECRET}))[0] == ("scope", "agent_id")
    assert bind(parse_filter({"user_id": 5}))[0] == ("eq",)  # not a string: containment alone
    assert bind(parse_filter({"u": {"in": ["a", "b"]}}))[0] != bind(parse_filter({"u": "a"}))[0]
    assert bind(parse_filter({"n": {"gt": 1}}))[0] != bind(parse_filter({"n": {"gt": "1"}}))[0]
    assert SECRET not in repr(b_shape)


def test_one_cached_statement_serves_every_value(make_store: Any) -> None:
    store = make_store(collection="cache_values")
    records = _records()
    store.upsert(records)
    for user in ("alice", "bob", SECRET):
        hits = store.query([1, 0, 0, 0], limit=50, filters=parse_filter({"user_id": user}))
        assert {h.id for h in hits} == _expected(records, {user})
    for users in (["alice", "bob"], ["carol", SECRET]):
        hits = store.query([1, 0, 0, 0], limit=50,
                           filters=parse_filter({"user_id": {"in": users}}))
        assert {h.id for h in hits} == _expected(records, set(users))
    assert len(store._sql_cache) == 2  # eq, and `in` with two values


def test_cached_statements_never_hold_values(make_store: Any) -> None:
    store = make_store(collection="cache_inject")
    records = _records()
    store.upsert(records)
    filters = [{"user_id": SECRET}, {"user_id": {"ne": SECRET}}, {"tags": {"contains": SECRET}},
               {"user_id": {"gte": SECRET, "lte": SECRET}}, {"n": {"gt": 12345.5}},
               {"NOT": {"user_id": {"nin": [SECRET, "bob"]}}}]
    for raw in filters:
        store.query([1, 0, 0, 0], limit=5, filters=parse_filter(raw))
    assert len(store._sql_cache) == len(filters)
    for statements in store._sql_cache.values():
        for text in statements:
            assert b"SECRET" not in text and b"12345" not in text and b"bob" not in text


def test_sql_cache_is_bounded(make_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from memstack_pgvector import store as store_module

    monkeypatch.setattr(store_module, "SQL_CACHE_SIZE", 2)
    store = make_store(collection="cache_bound")
    records = _records()
    store.upsert(records)
    users = ["alice", "bob", "carol", SECRET]
    for rounds in range(2):  # the second round recomposes shapes evicted in the first
        for k in range(1, 5):
            hits = store.query([1, 0, 0, 0], limit=50,
                               filters=parse_filter({"user_id": {"in": users[:k]}}))
            assert {h.id for h in hits} == _expected(records, set(users[:k])), (rounds, k)
            assert len(store._sql_cache) <= 2


def test_threads_share_a_small_cache(make_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from memstack_pgvector import store as store_module

    monkeypatch.setattr(store_module, "SQL_CACHE_SIZE", 2)
    store = make_store(collection="cache_threads", pool_max_size=4)
    records = _records()
    store.upsert(records)
    users = ["alice", "bob", "carol", SECRET]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for j in range(30):
                wanted = users[: 1 + (n + j) % 4]
                hits = store.query([1, 0, 0, 0], limit=50,
                                   filters=parse_filter({"user_id": {"in": wanted}}))
                assert {h.id for h in hits} == _expected(records, set(wanted))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store._sql_cache) <= 2


def test_equal_scores_are_ordered_by_id(make_store: Any) -> None:
    store = make_store(collection="cache_ties")
    store.upsert([Record(id=i, vector=[1, 2, 3, 4], payload={"k": 1}) for i in ("c", "a", "b")]
                 + [Record(id="z", vector=[4, 3, 2, 1], payload={"k": 1})])
    hits = store.query([1, 2, 3, 4], limit=4, filters=parse_filter({"k": 1}))
    assert [h.id for h in hits] == ["a", "b", "c", "z"]
    assert hits[0].score == pytest.approx(1.0) and hits[0].score == hits[2].score
