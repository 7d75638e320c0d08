"""Filter tree → Chroma ``where``, with exactly the reference semantics.

With the keys `memstack_chroma.encoding` writes:

- numbers are compared through their int64 order keys (``memstack:k:<field>``): Chroma compares
  ints exactly, which it does not do for floats, nor for an int field against a float operand.
  Only numbers have an order key, so a bool or a string never matches a numeric comparison, and
  1 matches 1.0. Strings and bools are compared on the field itself: Chroma keeps bools apart
  from numbers, and never matches a list with ``$eq`` / ``$in``;
- ``contains`` looks at the element tags of the field's list, so 1 finds 1.0 and a scalar field
  never matches;
- Chroma has no NOT. It is pushed down to the comparisons (De Morgan), and ``NOT eq`` /
  ``NOT in`` / ``NOT contains`` are Chroma's ``$ne`` / ``$nin`` / ``$not_contains``, which match
  records without the field, as NOT must.

Chroma cannot say "this field is missing" (no ``$exists``) nor order strings. So ``ne`` and
``nin`` (which must *not* match a missing field, but Chroma's ``$ne`` / ``$nin`` do), the
negations of ``ne``, ``nin`` and ranges (which must match a missing field), and ranges on
strings are sent as a superset of their matches: ``$ne`` / ``$nin`` for the first two, "true"
for the others. `plan` says when it did so, and the store then keeps the candidates
`memstack.filters.matches` accepts. (Tracking every field's presence in a list instead would
double the rows Chroma writes per record, for every record, to serve these rarer filters.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memstack.filters import And, Comparison, FilterNode, Not, Or
from memstack.filters.parse import RANGE_OPS
from memstack_chroma.encoding import ORDER, Layout, number_key, tag

Where = dict[str, Any]


class _True:
    """Stands for a condition Chroma cannot evaluate, widened to "every record"."""


TRUE = _True()


@dataclass(frozen=True)
class Plan:
    """`where` for Chroma (None: no condition) and whether it selects exactly the matches
    (`exact`) or a superset that must still be checked with `memstack.filters.matches`."""

    where: Where | None
    exact: bool


def plan(node: FilterNode | None, layout: Layout) -> Plan:
    """How to select what `memstack.filters.matches` selects with Chroma's ``where``."""
    if node is None:
        return Plan(None, True)
    loose: list[bool] = []
    where = _node(node, False, layout, loose)
    return Plan(None if where is TRUE else where, not loose)  # type: ignore[arg-type]


def _node(node: FilterNode, negate: bool, keys: Layout, loose: list[bool]) -> Where | _True:
    if isinstance(node, Comparison):
        return _comparison(node, negate, keys, loose)
    if isinstance(node, Not):
        return _node(node.child, not negate, keys, loose)
    if isinstance(node, And | Or):
        parts = [_node(c, negate, keys, loose) for c in node.children]
        if isinstance(node, And) != negate:  # a conjunction (De Morgan under NOT)
            kept = [p for p in parts if p is not TRUE]
            return _all(kept) if kept else TRUE  # type: ignore[arg-type]
        if any(p is TRUE for p in parts):
            return TRUE
        return _any(parts)  # type: ignore[arg-type]
    raise TypeError(f"not a filter node: {node!r}")


def _all(parts: list[Where]) -> Where:
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _any(parts: list[Where]) -> Where:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _operand(field: str, value: Any) -> tuple[str, Any]:
    """The key to compare and the operand: order keys for numbers, the field otherwise."""
    if _is_number(value):
        return ORDER + field, number_key(value)
    return field, value


def _operands(field: str, values: tuple[Any, ...]) -> tuple[str, list[Any]]:
    """As `_operand`, for an in/nin list (the parser makes it one family)."""
    if _is_number(values[0]):
        return ORDER + field, list(dict.fromkeys(number_key(v) for v in values))
    return field, list(dict.fromkeys(values))


def _contains_tag(value: Any) -> str:
    out = tag(value)  # filter values are finite scalars, so there always is one
    if out is None:
        raise ValueError(f"not a filter value: {value!r}")
    return out


def _comparison(c: Comparison, negate: bool, keys: Layout, loose: list[bool]) -> Where | _True:
    f, op, v = c.field, c.op, c.value
    if op == "contains":
        return {keys.contains + f: {"$not_contains" if negate else "$contains": _contains_tag(v)}}
    if op == "eq":  # NOT eq is exactly $ne, missing fields included
        key, x = _operand(f, v)
        return {key: {"$ne" if negate else "$eq": x}}
    if op == "in":
        key, xs = _operands(f, v)  # type: ignore[arg-type]
        return {key: {"$nin" if negate else "$in": xs}}
    if op in RANGE_OPS and not negate and _is_number(v):
        key, x = _operand(f, v)
        return {key: {"$" + op: x}}
    # The rest are widened to a superset; the store checks the candidates.
    loose.append(True)
    if negate or op in RANGE_OPS:  # NOT ne/nin/range match missing fields; strings don't order
        return TRUE
    if op == "ne":  # Chroma's $ne also matches records without the field
        key, x = _operand(f, v)
        return {key: {"$ne": x}}
    if op == "nin":
        key, xs = _operands(f, v)  # type: ignore[arg-type]
        return {key: {"$nin": xs}}
    raise ValueError(f"unknown operator {op!r}")
