"""LangGraph's search filter → a memstack filter the store evaluates, plus an exact check in Python.

LangGraph documents filters as ``{field: value}`` (equality) and ``{field: {"$op": value}}`` with
``$eq $ne $gt $gte $lt $lte`` on the top-level fields of an item's value; its `InMemoryStore`
also matches nested dicts (``{"a": {"b": 1}}``) and whole lists. Python's ``==`` decides
equality there, so ``1 == 1.0 == True``.

memstack's filter language sees flat payload fields, so `layout` copies every top-level field
that holds a scalar memstack can store (str, bool, int within ±2**53, finite float) into a
``v_<field>`` payload field, and lists the other fields (dicts, lists, None, big ints, NaN) in
``lg_opaque``. A condition on a copied field is translated exactly — bools meet numbers as 1/0,
``$ne`` becomes ``NOT eq`` so a missing field matches as it does in LangGraph — and OR'ed with
"the field is opaque here". What the store returns is therefore a superset of the answer, and
`matches` (plain Python over the decoded value) settles every candidate exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from memstack.filters.parse import FIELD_RE

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
RANGES = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
FIELD_PREFIX = "v_"
OPAQUE = "lg_opaque"
MAX_EXACT_INT = 2**53


def value_field(name: str) -> str | None:
    """The payload field that holds a copy of top-level field `name`, or None if it cannot."""
    field = FIELD_PREFIX + name
    return field if FIELD_RE.match(field) else None


def storable_scalar(value: Any) -> bool:
    """Whether memstack metadata (and its filters) hold `value` exactly."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_EXACT_INT
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and _encodable(value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_filter(filter: Mapping[str, Any] | None) -> None:
    """Refuse what LangGraph does not define: unknown ``$`` operators, non-string field names."""
    if filter is None:
        return
    if not isinstance(filter, Mapping):
        raise ValueError(f"filter must be a dict, got {type(filter).__name__}: {filter!r:.80}")
    for key, cond in filter.items():
        if not isinstance(key, str):
            raise ValueError(f"filter field names must be strings, got {key!r}")
        _check_condition(key, cond)


def _check_condition(path: str, cond: Any) -> None:
    if isinstance(cond, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in cond):
            for op in cond:
                if op not in OPERATORS:
                    raise ValueError(f"filter[{path!r}]: unsupported operator {op!r}; "
                                     f"allowed: {', '.join(OPERATORS)}")
        else:
            for k, v in cond.items():
                _check_condition(f"{path}.{k}", v)


# --- exact evaluation (Python) ---------------------------------------------------------------
def matches(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value passes a LangGraph filter (MemstackStore's semantics)."""
    if not filter:
        return True
    return all(_compare(value.get(k), cond) for k, cond in filter.items())


def _compare(item: Any, cond: Any) -> bool:
    if isinstance(cond, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in cond):
            return all(_apply(item, op, operand) for op, operand in cond.items())
        if not isinstance(item, Mapping):
            return False
        return all(_compare(item.get(k), v) for k, v in cond.items())
    if isinstance(cond, list | tuple):
        return (isinstance(item, list | tuple) and len(item) == len(cond)
                and all(_compare(i, c) for i, c in zip(item, cond, strict=True)))
    return _equal(item, cond)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # an uncomparable pair is simply not equal
        return False


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    return None


def _apply(item: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return _equal(item, operand)
    if op == "$ne":
        return not _equal(item, operand)
    a, b = _number(item), _number(operand)
    if a is None or b is None:
        if isinstance(item, str) and isinstance(operand, str):
            a, b = item, operand  # type: ignore[assignment]  # code point order, as memstack
        else:
            return False  # LangGraph's InMemoryStore raises here (float(None), float([]))
    if op == "$gt":
        return a > b  # type: ignore[operator]
    if op == "$gte":
        return a >= b  # type: ignore[operator]
    if op == "$lt":
        return a < b  # type: ignore[operator]
    return a <= b  # type: ignore[operator]


# --- translation (pushed down to the store) --------------------------------------------------
def translate(filter: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """memstack filter dicts (ANDed) that every item passing `filter` also passes."""
    out: list[dict[str, Any]] = []
    for key, cond in (filter or {}).items():
        node = _translate_condition(key, cond)
        if node is not None:
            out.append(node)
    return out


def _translate_condition(key: str, cond: Any) -> dict[str, Any] | None:
    field = value_field(key)
    if field is None:
        return None
    opaque = {OPAQUE: {"contains": key}}
    if isinstance(cond, Mapping) and not any(isinstance(k, str) and k.startswith("$")
                                             for k in cond):
        return opaque  # a nested match needs a dict value: dicts are opaque
    if isinstance(cond, list | tuple):
        return opaque  # lists are opaque
    ops = cond.items() if isinstance(cond, Mapping) else [("$eq", cond)]
    nodes: list[dict[str, Any]] = []
    for op, operand in ops:
        if isinstance(operand, Mapping | list | tuple) and op == "$eq":
            return opaque
        node = _translate_op(field, op, operand)
        if node is None:
            return None  # e.g. an equality with None: missing fields match, no pushdown
        nodes.append(node)
    scalar = nodes[0] if len(nodes) == 1 else {"AND": nodes}
    return {"OR": [scalar, opaque]}


def _eq(field: str, operand: Any) -> dict[str, Any] | None:
    """Python equality on a stored scalar: 1 == 1.0 == True, 0 == 0.0 == False."""
    if not storable_scalar(operand):
        return None
    if isinstance(operand, str):
        return {field: {"eq": operand}}
    alts: list[dict[str, Any]] = [{field: {"eq": operand}}]
    number = _number(operand)
    if isinstance(operand, bool):
        alts.append({field: {"eq": int(operand)}})
    elif number in (0, 1):
        alts.append({field: {"eq": bool(number)}})
    return alts[0] if len(alts) == 1 else {"OR": alts}


def _translate_op(field: str, op: str, operand: Any) -> dict[str, Any] | None:
    if op == "$eq":
        return _eq(field, operand)
    if op == "$ne":
        eq = _eq(field, operand)
        return None if eq is None else {"NOT": eq}
    if not storable_scalar(operand):
        return None
    mop = RANGES[op]
    if isinstance(operand, str):
        return {field: {mop: operand}}
    number = _number(operand)
    alts: list[dict[str, Any]] = [{field: {mop: number}}]
    for flag in (True, False):  # stored bools compare as 1 / 0
        if _apply(int(flag), op, number):
            alts.append({field: {"eq": flag}})
    return alts[0] if len(alts) == 1 else {"OR": alts}
