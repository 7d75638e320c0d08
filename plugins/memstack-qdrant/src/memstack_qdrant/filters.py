"""memstack filter trees → Qdrant `models.Filter`, selecting exactly what the reference selects.

Qdrant filters are structured objects (JSON / protobuf), so values are never spliced into text.
How each reference rule is met:

- missing / null field: `IsEmpty` (missing, null or []) is excluded wherever a comparison must
  be false; match and range conditions are already false on a missing field;
- list fields: Qdrant matches a list when any element matches, so every scalar operator excludes
  the fields named in the reserved `NONSCALAR_KEY` list, and `contains` requires it;
- numbers: `MatchValue` keeps int and float apart (1 ≠ 1.0) and takes no float, so numeric
  equality is `Range(gte=v, lte=v)`, which compares ints and floats numerically and skips bools;
- booleans and strings: `MatchValue`, which never matches across types;
- ne / nin: field present, scalar, and not equal — so other types count as "not equal";
- NOT: `must_not`, the exact complement (records without the field included).
Ranges on strings have no Qdrant equivalent (`filter:range_str` is not declared).
"""

from __future__ import annotations

from qdrant_client.http import models

from memstack.filters import And, Comparison, FilterNode, Not, Or, family
from memstack_qdrant.payload import ABSENT_KEY, NONSCALAR_KEY, RESERVED_PREFIX

_RANGE_OPS = ("gt", "gte", "lt", "lte")


def to_qdrant(node: FilterNode | None) -> models.Filter | None:
    """The Qdrant filter for a (capability-checked) tree; None means no filter."""
    if node is None:
        return None
    return _node(node)


def _node(node: FilterNode) -> models.Filter:
    if isinstance(node, Comparison):
        return _comparison(node)
    if isinstance(node, And):
        return models.Filter(must=[_node(c) for c in node.children])
    if isinstance(node, Or):
        return models.Filter(should=[_node(c) for c in node.children])
    if isinstance(node, Not):
        return models.Filter(must_not=[_node(node.child)])
    raise TypeError(f"not a filter node: {node!r}")


def _nonscalar(field: str) -> models.FieldCondition:
    """True when the record's `field` holds a list or an object."""
    return models.FieldCondition(key=NONSCALAR_KEY, match=models.MatchValue(value=field))


def _empty(field: str) -> models.IsEmptyCondition:
    """True when `field` is missing, null or an empty list."""
    return models.IsEmptyCondition(is_empty=models.PayloadField(key=field))


def _equals(field: str, value: object) -> models.Condition:
    """A scalar `field` equal to `value` (or a list with such an element; callers guard)."""
    if family(value) == "num":
        return models.FieldCondition(key=field, range=models.Range(gte=value, lte=value))
    return models.FieldCondition(key=field, match=models.MatchValue(value=value))


def _equals_any(field: str, values: tuple) -> models.Condition:
    distinct = list(dict.fromkeys(values))
    if family(distinct[0]) == "str":
        return models.FieldCondition(key=field, match=models.MatchAny(any=distinct))
    if len(distinct) == 1:
        return _equals(field, distinct[0])
    # numbers need ranges (int/float); booleans have no MatchAny form
    return models.Filter(should=[_equals(field, v) for v in distinct])


def _comparison(c: Comparison) -> models.Filter:
    f, op, v = c.field, c.op, c.value
    if f.startswith(RESERVED_PREFIX):  # the store's own keys are not user fields
        f = ABSENT_KEY
    if op == "eq":
        return models.Filter(must=[_equals(f, v)], must_not=[_nonscalar(f)])
    if op == "ne":
        return models.Filter(must_not=[_empty(f), _nonscalar(f), _equals(f, v)])
    if op == "in":
        return models.Filter(must=[_equals_any(f, v)], must_not=[_nonscalar(f)])  # type: ignore[arg-type]
    if op == "nin":
        return models.Filter(must_not=[_empty(f), _nonscalar(f), _equals_any(f, v)])  # type: ignore[arg-type]
    if op == "contains":
        return models.Filter(must=[_nonscalar(f), _equals(f, v)])
    if op in _RANGE_OPS:
        if family(v) != "num":
            # guarded by require_support (filter:range_str is not declared); never widen
            raise TypeError(f"qdrant cannot range-compare a {type(v).__name__}")
        rng = models.Range(**{op: v})
        return models.Filter(
            must=[models.FieldCondition(key=f, range=rng)], must_not=[_nonscalar(f)]
        )
    raise ValueError(f"unknown operator {op!r}")
