"""Differential test: random programs of put / get / delete / search / list_namespaces run on
MemstackStore and on LangGraph's own `InMemoryStore`, compared after every step.

Compared wherever both define the behaviour (README, "Differences from InMemoryStore"):
- get: the same value (JSON types) or None;
- search, with or without a query: the same set of (namespace, key, value) — order differs
  (memstack ranks by hybrid score; InMemoryStore without an embedder keeps insertion order) —
  and the same number of results for any limit / offset;
- list_namespaces (prefix / suffix with wildcards, max_depth, limit, offset): the same list,
  once InMemoryStore's empty namespaces are dropped (it keeps listing a namespace after its
  last item is deleted, or when a get only looked into it);
- a filter on which InMemoryStore raises (a range on a missing, null, list or non-numeric
  value: it calls float() on it) has no reference answer and is not compared.

Each example runs in a fresh store name (`agent_id`) on one shared engine. The programs are the
same on every run; MEMSTACK_LANGGRAPH_EXAMPLES=2000 explores ten times as many.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.memory import InMemoryStore
from memstack_langgraph import MemstackStore

from memstack import Memory

_names = itertools.count()
# Deterministic by default (the same programs in CI and here); raise for a thorough run.
EXAMPLES = int(os.environ.get("MEMSTACK_LANGGRAPH_EXAMPLES", "200"))

labels = st.sampled_from(["a", "b"])
namespaces = st.lists(labels, min_size=1, max_size=3).map(tuple)
prefixes = st.one_of(st.just(()), st.just(()), st.just(("a",)),
                     st.lists(labels, max_size=2).map(tuple))
patterns = st.lists(st.sampled_from(["a", "b", "*"]), min_size=1, max_size=2).map(tuple)
keys = st.sampled_from(["k1", "k2", "κλειδί", "with space"])
fields = st.sampled_from(["n", "n", "m", "odd-key"])
# Strings avoid the letters of "nan" / "inf": InMemoryStore would read them as numbers.
numbers = st.sampled_from([0, 1, 2, -1, 0.0, 1.0, 2.5, True, False])
scalars = st.one_of(numbers, numbers, st.sampled_from(["b", "c"]), st.none())
values = st.one_of(
    scalars, scalars, scalars,
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=2)
                 | st.dictionaries(st.sampled_from(["x", "y"]), inner, max_size=2),
                 max_leaves=3))
# Most items have `n` as a number, so ranges on `n` usually have a reference answer.
# (A flat sampled_from draws evenly; nested one_of leans towards its first branches.)
# Mostly numbers and bools: a range has a reference answer only when every item it meets has
# a number (InMemoryStore calls float() on each).
n_values = st.sampled_from([0, 1, 2, -1, 0.0, 1.0, 2.5, True, False] * 3
                           + [None, "b", [1, "b"], {"x": 1}])
items = st.fixed_dictionaries({"n": n_values}, optional={"m": values, "odd-key": values})
operands = st.one_of(numbers, numbers, numbers, scalars)
operators = st.dictionaries(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
                            operands, min_size=1, max_size=2)
conditions = st.one_of(scalars, operators, operators, st.lists(scalars, max_size=2),
                       st.dictionaries(st.sampled_from(["x", "y"]), scalars, min_size=1,
                                       max_size=1))
numeric_ops = st.dictionaries(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
                              numbers, min_size=1, max_size=2)
# Conditions on `n` with numbers (1 == 1.0 == True, ranges over bools) are the ones most
# likely to have a reference answer and a non-empty one.
filters = st.one_of(st.fixed_dictionaries({"n": st.one_of(n_values, numeric_ops)}),
                    st.none(), st.dictionaries(fields, conditions, min_size=1, max_size=2),
                    st.dictionaries(st.just("n"), operators, min_size=1))
queries = st.one_of(st.none(), st.sampled_from(["b", "n c", "bd 1"]))

put = st.tuples(st.just("put"), namespaces, keys, items)
ops = st.one_of(
    put, put, put,
    st.tuples(st.just("get"), namespaces, keys),
    st.tuples(st.just("delete"), namespaces, keys),
    st.tuples(st.just("search"), prefixes, filters, queries, st.sampled_from([1000, 1000, 1, 3]),
              st.integers(0, 2)),
    st.tuples(st.just("search"), prefixes, filters, queries, st.sampled_from([1000, 1000, 1, 3]),
              st.integers(0, 2)),
    st.tuples(st.just("list"), st.one_of(st.none(), patterns), st.one_of(st.none(), patterns),
              st.one_of(st.none(), st.integers(1, 3)), st.sampled_from([100, 2]),
              st.integers(0, 2)),
)
# A few puts first, so that searches and filters have something to find.
programs = st.tuples(st.lists(put, min_size=3, max_size=8),
                     st.lists(ops, min_size=1, max_size=25)).map(lambda t: t[0] + t[1])


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _drop_empty_namespaces(ref: InMemoryStore) -> None:
    for ns in [ns for ns, data in ref._data.items() if not data]:
        del ref._data[ns]


def run_program(memory: Memory, program: list[tuple[Any, ...]]) -> None:
    ours = MemstackStore(memory, agent_id=f"diff-{next(_names)}")
    ref = InMemoryStore()
    for step, op in enumerate(program):
        where = f"step {step}: {op!r}"
        kind = op[0]
        if kind == "put":
            _, ns, key, value = op
            ours.put(ns, key, value)
            ref.put(ns, key, value)
        elif kind == "delete":
            _, ns, key = op
            ours.delete(ns, key)
            ref.delete(ns, key)
        elif kind == "get":
            _, ns, key = op
            got, want = ours.get(ns, key), ref.get(ns, key)
            assert (got is None) == (want is None), where
            if got is not None and want is not None:
                assert _canon(got.value) == _canon(want.value), where
                assert (got.namespace, got.key) == (want.namespace, want.key), where
                assert got.created_at <= got.updated_at, where
        elif kind == "search":
            _, prefix, flt, query, limit, offset = op
            try:
                want_items = ref.search(prefix, filter=flt, query=query, limit=limit,
                                        offset=offset)
            except (TypeError, ValueError):
                continue  # no reference behaviour (InMemoryStore raised on float(...))
            got_items = ours.search(prefix, filter=flt, query=query, limit=limit,
                                    offset=offset)
            assert len(got_items) == len(want_items), where
            if limit == 1000 and offset == 0:
                got_set = {(i.namespace, i.key, _canon(i.value)) for i in got_items}
                want_set = {(i.namespace, i.key, _canon(i.value)) for i in want_items}
                assert got_set == want_set, where
        else:
            _, prefix, suffix, depth, limit, offset = op
            _drop_empty_namespaces(ref)
            got_ns = ours.list_namespaces(prefix=prefix, suffix=suffix, max_depth=depth,
                                          limit=limit, offset=offset)
            want_ns = ref.list_namespaces(prefix=prefix, suffix=suffix, max_depth=depth,
                                          limit=limit, offset=offset)
            assert got_ns == want_ns, where


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=programs)
def test_same_behaviour_as_inmemorystore(memory: Memory, program: list[tuple[Any, ...]]) -> None:
    run_program(memory, program)


@settings(max_examples=max(1, EXAMPLES // 10), deadline=None, database=None,
          derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=programs)
def test_same_behaviour_as_inmemorystore_on_pgvector(pg_memory: Memory,
                                                     program: list[tuple[Any, ...]]) -> None:
    run_program(pg_memory, program)


@settings(max_examples=max(1, EXAMPLES // 10), deadline=None, database=None,
          derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=programs)
def test_same_behaviour_as_inmemorystore_on_chroma(chroma_memory: Memory,
                                                   program: list[tuple[Any, ...]]) -> None:
    run_program(chroma_memory, program)
