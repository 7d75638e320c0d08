"""Hypothesis strategies for filter dicts, limited to what a store declares it can translate.

Values are drawn mostly from the data set's own values (so filters select something and hit
boundaries), plus near misses and cross-type look-alikes (2 vs 2.0 vs "2" vs True).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from memstack import capabilities as caps
from memstack.capabilities import FILTER_OPS
from memstack_contract import data

PROFILE = "memstack-contract"
PROFILES = {
    # Deterministic: the same examples on every run, no example database — fit for CI.
    "memstack-contract": dict(max_examples=50, derandomize=True, deadline=None, database=None),
    # A longer, still deterministic run for a plugin author chasing a translation bug.
    "memstack-contract-thorough": dict(
        max_examples=500, derandomize=True, deadline=None, database=None
    ),
    # Random exploration (new examples each run), for local hunting only.
    "memstack-contract-explore": dict(max_examples=200, derandomize=False, deadline=None),
}
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# No "explain" phase: it re-runs many variations of a failing example to annotate it, which costs
# more than it tells here (the shrunk filter and the store's wrong answer say it all).
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]


def register_profiles() -> None:
    for name, kwargs in PROFILES.items():
        settings.register_profile(
            name, suppress_health_check=_SUPPRESS, phases=_PHASES, print_blob=False, **kwargs
        )


def profile_settings(name: str) -> settings:
    if name not in PROFILES:
        raise ValueError(f"unknown hypothesis profile {name!r}; known: {', '.join(PROFILES)}")
    register_profiles()
    return settings.get_profile(name)


_STR = st.sampled_from(
    sorted({*data.S_VALUES, *data.DATE_VALUES, *data.TAG_VALUES, "zzz", "2024", "Z"})
)
_INT = st.one_of(st.sampled_from(data.I_VALUES + data.NUM_VALUES), st.integers(-4, 9))
_FLOAT = st.one_of(
    st.sampled_from(data.F_VALUES), st.integers(-8, 16).map(lambda n: n / 4)
)
_BOOL = st.booleans()


def _scalars(*, strings: bool = True, bools: bool = True) -> st.SearchStrategy[Any]:
    options = [_INT, _FLOAT]
    if strings:
        options.append(_STR)
    if bools:
        options.append(_BOOL)
    return st.one_of(options)


def _one_family_list() -> st.SearchStrategy[list[Any]]:
    return st.one_of(
        st.lists(_STR, min_size=1, max_size=3),
        st.lists(st.one_of(_INT, _FLOAT), min_size=1, max_size=3),
        st.lists(_BOOL, min_size=1, max_size=2),
    )


def _operand(op: str, range_str: bool) -> st.SearchStrategy[Any]:
    if op in ("in", "nin"):
        return _one_family_list()
    if op in ("gt", "gte", "lt", "lte"):
        return _scalars(strings=range_str, bools=False)
    return _scalars()


def filter_dicts(declared: frozenset[str]) -> st.SearchStrategy[dict[str, Any]] | None:
    """Filter dicts using only declared operators and connectives (None if no operator is)."""
    ops = [op for op in FILTER_OPS if f"filter:{op}" in declared]
    if not ops:
        return None
    range_str = caps.FILTER_RANGE_STR in declared
    fields = st.sampled_from(data.FILTER_FIELDS)

    def leaf_for(op: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.builds(lambda f, v: {f: {op: v}}, fields, _operand(op, range_str))

    leaves = st.one_of([leaf_for(op) for op in ops])
    if caps.FILTER_AND in declared:
        ranges = [op for op in ops if op in ("gt", "gte", "lt", "lte")]
        if len(ranges) >= 2:  # two operators on one field: an implicit AND
            leaves = st.one_of(
                leaves,
                st.builds(
                    lambda f, a, b, lo, hi: {f: {a: lo, b: hi}},
                    fields,
                    st.sampled_from([o for o in ranges if o.startswith("g")] or ranges),
                    st.sampled_from([o for o in ranges if o.startswith("l")] or ranges),
                    _operand("gt", range_str),
                    _operand("lt", range_str),
                ),
            )

    def extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        options = []
        if caps.FILTER_AND in declared:
            options.append(st.lists(children, min_size=2, max_size=3).map(lambda c: {"AND": c}))
        if caps.FILTER_OR in declared:
            options.append(st.lists(children, min_size=2, max_size=3).map(lambda c: {"OR": c}))
        if caps.FILTER_NOT in declared:
            options.append(children.map(lambda c: {"NOT": c}))
        return st.one_of(options)

    if not {caps.FILTER_AND, caps.FILTER_OR, caps.FILTER_NOT} & declared:
        return leaves
    return st.recursive(leaves, extend, max_leaves=6)
