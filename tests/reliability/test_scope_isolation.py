"""Property test over every in-tree store: no operation ever returns or touches another scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memstack import Memory
from memstack.errors import MemoryNotFound
from tests.reliability.conftest import STORE_NAMES, memory_config, size

USERS = st.sampled_from(["u1", "u2", "u3"])
AGENTS = st.sampled_from([None, "a1", "a2"])
RUNS = st.sampled_from([None, "r1"])
scopes = st.builds(lambda u, a, r: {"user_id": u, "agent_id": a, "run_id": r}, USERS, AGENTS, RUNS)
WORDS = st.sampled_from(["tea", "jazz", "boat", "salt", "rain", "moss"])
ops = st.lists(st.tuples(
    st.sampled_from(["add", "add", "add", "search", "get_all", "get", "update", "delete",
                     "delete_all"]),
    scopes, st.lists(WORDS, min_size=1, max_size=3), st.integers(0, 1000)),
    min_size=5, max_size=25)


def in_scope(item_scope: dict[str, Any], query: dict[str, Any]) -> bool:
    return all(item_scope.get(k) == v for k, v in query.items() if v is not None)


def run_ops(m: Memory, sequence: list) -> dict[str, int]:
    model: dict[str, tuple[dict[str, Any], str]] = {}
    leaks = checks = 0
    for op, scope, words, pick in sequence:
        q = {k: v for k, v in scope.items() if v is not None}
        if op == "add":
            for e in m.add(" ".join(words) + f" {pick}", **q).results:
                model[e.id] = (dict(scope), e.memory)
        elif op == "search":
            for item in m.search(" ".join(words), **q, limit=50).results:
                checks += 1
                leaks += not in_scope(item.model_dump(), q)
        elif op == "get_all":
            got = {i.id for i in m.get_all(**q, limit=1000).results}
            want = {i for i, (s, _) in model.items() if in_scope(s, q)}
            checks += 1
            leaks += len(got - want) + len(want - got)
        elif op in ("get", "update", "delete") and model:
            target = sorted(model)[pick % len(model)]
            allowed = in_scope(model[target][0], q)
            checks += 1
            if op == "get":
                leaks += (m.get(target, **q) is not None) != allowed
            else:
                try:
                    if op == "update":
                        ev = m.update(target, f"changed {pick} " + " ".join(words), **q)
                        if ev.event == "UPDATE":
                            model[target] = (model[target][0], ev.memory)
                    else:
                        m.delete(target, **q)
                        del model[target]
                    leaks += not allowed
                except MemoryNotFound:
                    leaks += allowed
        elif op == "delete_all":
            removed = {e.id for e in m.delete_all(**q)}
            want = {i for i, (s, _) in model.items() if in_scope(s, q)}
            checks += 1
            leaks += len(removed ^ want)
            for i in want:
                model.pop(i, None)
    survivors = {i for i in model if m.get(i) is not None}
    leaks += len(set(model) ^ survivors)  # nothing outside a delete's scope was touched
    return {"checks": checks, "leaks": leaks}


@pytest.mark.parametrize("store", STORE_NAMES)
def test_no_operation_crosses_scopes(store: str, store_config, tmp_path: Path, figures) -> None:
    totals = {"examples": 0, "operations": 0, "checks": 0, "leaks": 0}
    section = store_config(store)

    @settings(max_examples=size(8, 60), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(ops)
    def check(sequence: list) -> None:
        with Memory(memory_config(section, tmp_path)) as m:
            result = run_ops(m, sequence)
            m.reset()
        totals["examples"] += 1
        totals["operations"] += len(sequence)
        totals["checks"] += result["checks"]
        totals["leaks"] += result["leaks"]
        assert result["leaks"] == 0

    check()
    figures("scope_isolation", store=store, **totals)
    assert totals["leaks"] == 0 and totals["checks"] > 0
