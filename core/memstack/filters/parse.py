"""Dict filters → typed tree, with errors that point at the offending part.

Accepted shape (the style mem0 and most vector stores already use):
- ``{"user_id": "alice"}`` — equality; several keys in one dict are ANDed;
- ``{"age": {"gte": 3, "lt": 9}}`` — operators eq, ne, in, nin, gt, gte, lt, lte, contains;
- ``{"AND": [..]}``, ``{"OR": [..]}`` (non-empty lists of filters), ``{"NOT": {..}}``.

Values are str, int, float (finite) or bool; `in`/`nin` take a non-empty list of one type
(strings, numbers or booleans); range operators take a number or a string. Field names are
identifiers (``[A-Za-z_][A-Za-z0-9_]*``, at most 64 characters) so no backend ever has to quote one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from memstack.errors import FilterError
from memstack.filters.tree import (
    OPERATORS,
    RANGE_OPS,
    And,
    Comparison,
    FilterNode,
    Not,
    Or,
    Scalar,
)

LOGICAL = ("AND", "OR", "NOT")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_DEPTH = 32


def family(value: Any) -> str:
    """'bool', 'num', 'str', 'list' or 'other' — the type classes the semantics distinguish."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    return "other"


def parse_filter(raw: Mapping[str, Any] | FilterNode | None) -> FilterNode | None:
    """Parse a dict filter. ``None`` and ``{}`` mean "no filter" and return None."""
    if raw is None:
        return None
    if isinstance(raw, Comparison | And | Or | Not):
        return raw
    if not isinstance(raw, Mapping):
        raise FilterError(f"expected a dict, got {type(raw).__name__}: {raw!r}")
    if not raw:
        return None
    return _parse_dict(raw, "", 0)


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _parse_dict(raw: Any, path: str, depth: int) -> FilterNode:
    if depth > MAX_DEPTH:
        raise FilterError(f"nested deeper than {MAX_DEPTH} levels", path=path)
    if not isinstance(raw, Mapping):
        raise FilterError(f"expected a dict, got {type(raw).__name__}: {raw!r}", path=path)
    if not raw:
        raise FilterError("empty dict inside a filter matches nothing in particular", path=path)
    nodes: list[FilterNode] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            raise FilterError(f"keys must be strings, got {key!r}", path=path)
        if key in LOGICAL:
            nodes.append(_parse_logical(key, value, _join(path, key), depth))
        elif key.upper() in LOGICAL or key.lower() in OPERATORS or key.startswith("$"):
            hint = key.upper() if key.upper() in LOGICAL else None
            msg = f"{key!r} is not a field name or a logical operator"
            if hint:
                msg += f"; logical operators are upper case: {hint!r}"
            else:
                msg += f"; operators go inside a field: {{'field': {{'{key.lstrip('$')}': ...}}}}"
            raise FilterError(msg, path=_join(path, key))
        else:
            nodes.extend(_parse_field(key, value, _join(path, key)))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _parse_logical(key: str, value: Any, path: str, depth: int) -> FilterNode:
    if key == "NOT":
        return Not(_parse_dict(value, path, depth + 1))
    if not isinstance(value, list | tuple) or not value:
        raise FilterError(f"{key} takes a non-empty list of filters, got {value!r}", path=path)
    children = tuple(_parse_dict(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
    if len(children) == 1:
        return children[0]
    return And(children) if key == "AND" else Or(children)


def _parse_field(name: str, value: Any, path: str) -> list[FilterNode]:
    if not FIELD_RE.match(name):
        raise FilterError(
            f"field name {name!r} is not allowed; use letters, digits and '_' "
            "(not starting with a digit, at most 64 characters)",
            path=path,
        )
    if isinstance(value, Mapping):
        if not value:
            raise FilterError("empty operator dict; give e.g. {'eq': ...}", path=path)
        out: list[FilterNode] = []
        for op, operand in value.items():
            if op not in OPERATORS:
                raise FilterError(
                    f"unknown operator {op!r}; allowed: {', '.join(OPERATORS)}", path=path
                )
            out.append(_comparison(name, op, operand, _join(path, op)))
        return out
    if isinstance(value, list | tuple):
        raise FilterError(
            f"a list is not a value; use {{'in': {list(value)!r}}} or {{'contains': ...}}",
            path=path,
        )
    return [_comparison(name, "eq", value, path)]


def _scalar(value: Any, path: str) -> Scalar:
    fam = family(value)
    if fam not in ("bool", "num", "str"):
        raise FilterError(
            f"value {value!r} ({type(value).__name__}) is not allowed; use a string, a number "
            "or a boolean",
            path=path,
        )
    if fam == "num" and not math.isfinite(value):
        raise FilterError(f"value {value!r} is not a finite number", path=path)
    if fam == "num" and isinstance(value, int) and abs(value) > 2**53:
        raise FilterError(f"integer {value} is outside ±2**53, which not every store keeps exact",
                          path=path)
    return value


def _comparison(name: str, op: str, operand: Any, path: str) -> Comparison:
    if op in ("in", "nin"):
        if not isinstance(operand, list | tuple) or not operand:
            raise FilterError(f"{op} takes a non-empty list, got {operand!r}", path=path)
        items = tuple(_scalar(v, f"{path}[{i}]") for i, v in enumerate(operand))
        fams = {family(v) for v in items}
        if len(fams) > 1:
            raise FilterError(
                f"{op} list mixes types ({', '.join(sorted(fams))}); use one type", path=path
            )
        return Comparison(name, op, items)  # type: ignore[arg-type]
    value = _scalar(operand, path)
    if op in RANGE_OPS and family(value) == "bool":
        raise FilterError(f"{op} compares numbers or strings, not booleans", path=path)
    return Comparison(name, op, value)  # type: ignore[arg-type]


def to_dict(node: FilterNode | None) -> dict[str, Any]:
    """The canonical dict form of a tree; `parse_filter(to_dict(t)) == t` for parsed trees."""
    if node is None:
        return {}
    if isinstance(node, Comparison):
        value = list(node.value) if isinstance(node.value, tuple) else node.value
        return {node.field: {node.op: value}}
    if isinstance(node, Not):
        return {"NOT": to_dict(node.child)}
    key = "AND" if isinstance(node, And) else "OR"
    return {key: [to_dict(c) for c in node.children]}


def and_filters(*nodes: FilterNode | None) -> FilterNode | None:
    """AND the given trees together, dropping Nones (used to add scope to a user filter)."""
    present = [n for n in nodes if n is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    flat: list[FilterNode] = []
    for n in present:
        flat.extend(n.children if isinstance(n, And) else (n,))
    return And(tuple(flat))
