"""The reference evaluator: plain Python over payload dicts. It *defines* filter semantics.

Every backend's translation must select exactly the records this function selects:

- A comparison never matches a record whose field is missing (``ne`` and ``nin`` included).
  Use ``NOT`` for the complement, which does include records without the field.
- Types are compared by family: strings, numbers (int and float compare numerically: 1 == 1.0)
  and booleans (True is not 1). A comparison across families is False for eq/in/range ops and
  True for ne/nin (the values are not equal).
- eq, ne, in, nin and range ops look at scalar fields only; a list-valued field never matches them.
- gt/gte/lt/lte compare numbers numerically and strings by code point (so ISO dates order).
- ``contains`` matches a list-valued field holding an element equal to the value; a scalar field
  never matches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memstack import capabilities as caps
from memstack.filters.parse import family
from memstack.filters.tree import RANGE_OPS, And, Comparison, FilterNode, Not, Or

_MISSING = object()


def _equal(a: Any, b: Any) -> bool:
    fa, fb = family(a), family(b)
    return fa == fb and fa in ("bool", "num", "str") and a == b


def _compare(stored: Any, op: str, value: Any) -> bool:
    fs = family(stored)
    if op == "contains":
        return fs == "list" and any(_equal(x, value) for x in stored)
    if fs not in ("bool", "num", "str"):
        return False
    if op == "eq":
        return _equal(stored, value)
    if op == "ne":
        return not _equal(stored, value)
    if op == "in":
        return any(_equal(stored, v) for v in value)
    if op == "nin":
        return not any(_equal(stored, v) for v in value)
    if fs != family(value) or fs == "bool":
        return False
    if op == "gt":
        return stored > value
    if op == "gte":
        return stored >= value
    if op == "lt":
        return stored < value
    if op == "lte":
        return stored <= value
    raise ValueError(f"unknown operator {op!r}")


def matches(node: FilterNode | None, payload: Mapping[str, Any]) -> bool:
    """True when `payload` satisfies the filter tree (None matches everything)."""
    if node is None:
        return True
    if isinstance(node, Comparison):
        stored = payload.get(node.field, _MISSING)
        if stored is _MISSING or stored is None:
            return False
        return _compare(stored, node.op, node.value)
    if isinstance(node, And):
        return all(matches(c, payload) for c in node.children)
    if isinstance(node, Or):
        return any(matches(c, payload) for c in node.children)
    if isinstance(node, Not):
        return not matches(node.child, payload)
    raise TypeError(f"not a filter node: {node!r}")


def required_capabilities(node: FilterNode | None) -> set[str]:
    """The `filter:*` capabilities a store needs to translate this tree."""
    need: set[str] = set()
    if node is None:
        return need
    if isinstance(node, Comparison):
        need.add(f"filter:{node.op}")
        if node.op in RANGE_OPS and isinstance(node.value, str):
            need.add(caps.FILTER_RANGE_STR)
    elif isinstance(node, And | Or):
        need.add(caps.FILTER_AND if isinstance(node, And) else caps.FILTER_OR)
        for c in node.children:
            need |= required_capabilities(c)
    elif isinstance(node, Not):
        need.add(caps.FILTER_NOT)
        need |= required_capabilities(node.child)
    return need


def missing_capabilities(node: FilterNode | None, have: frozenset[str]) -> set[str]:
    return required_capabilities(node) - set(have)


def require_support(provider: str, node: FilterNode | None, have: frozenset[str]) -> None:
    """Raise `UnsupportedFeature` when the store cannot translate every part of `node`."""
    missing = missing_capabilities(node, have)
    if missing:
        from memstack.errors import UnsupportedFeature

        raise UnsupportedFeature(provider, missing, "filter would otherwise be ignored")
