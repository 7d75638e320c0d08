"""Filter trees → SQLite conditions over the JSON payload, with the reference semantics.

Why in SQL: the engine adds a time view to every search (`NOT valid_until_ts <= now AND NOT
expires_at_ts <= now`), so nearly every filter goes beyond the scope; evaluating it in Python
would parse every payload of the scope per search. `json_type` tells the reference's type
families apart (true/false = bool, integer/real = number, text = string, array = list; NULL =
missing, 'null' = None), so each comparison is exactly `memstack.filters.matches`:

- a missing or null field never matches a comparison (`ne` and `nin` included);
- eq / in / ranges compare only within a family (1 == 1.0; True is not 1); a cross-family
  `ne` / `nin` is true for any scalar; lists never match them;
- ranges compare numbers numerically and strings in BINARY collation (UTF-8 byte order, which
  is code-point order, as Python compares `str`);
- `contains` holds for an array with an element of the value's family equal to it.

Every comparison is wrapped in `coalesce(..., 0)`, so NOT never meets SQL's NULL.
"""

from __future__ import annotations

from typing import Any

from memstack.filters import And, Comparison, FilterNode, Not, Or
from memstack.filters.parse import family
from memstack.filters.tree import RANGE_OPS

_TYPES = {"bool": ("true", "false"), "num": ("integer", "real"), "str": ("text",)}
_SCALAR = ("true", "false", "integer", "real", "text")
_RANGE_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _types(col: str, names: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(n) for n in names)})"


def _equal(jtype: str, jval: str, value: Any, params: list[Any]) -> str:
    """`stored == value` within the value's family (jtype/jval: SQL for the stored type/value)."""
    fam = family(value)
    if fam == "bool":
        return f"{jtype} = {'true' if value else 'false'!r}"
    params.append(value)
    return f"({_types(jtype, _TYPES[fam])} AND {jval} = ?)"


def _comparison(node: Comparison, payload: str, params: list[Any]) -> str:
    path = f"'$.{node.field}'"  # field names are identifiers (checked by the parser)
    jtype, jval = f"json_type({payload}, {path})", f"json_extract({payload}, {path})"
    op, value = node.op, node.value
    if op == "contains":
        inner: list[Any] = []
        cond = _equal("e.type", "e.value", value, inner)
        params.extend(inner)
        return (f"({jtype} = 'array' AND EXISTS (SELECT 1 FROM json_each({payload}, {path}) e"
                f" WHERE {cond}))")
    if op == "eq":
        return _equal(jtype, jval, value, params)
    if op == "in":
        assert isinstance(value, tuple)
        return "(" + " OR ".join(_equal(jtype, jval, v, params) for v in value) + ")"
    if op == "ne":
        return f"({_types(jtype, _SCALAR)} AND NOT {_equal(jtype, jval, value, params)})"
    if op == "nin":
        assert isinstance(value, tuple)
        anyeq = " OR ".join(_equal(jtype, jval, v, params) for v in value)
        return f"({_types(jtype, _SCALAR)} AND NOT ({anyeq}))"
    if op in RANGE_OPS:
        fam = family(value)
        if fam not in ("num", "str"):
            return "0"  # the parser allows only numbers and strings here; bools never order
        params.append(value)
        return f"({_types(jtype, _TYPES[fam])} AND {jval} {_RANGE_SQL[op]} ?)"
    raise ValueError(f"unknown operator {op!r}")


def condition(node: FilterNode | None, payload: str = "payload") -> tuple[str, list[Any]]:
    """(SQL condition, parameters) selecting exactly the rows `matches(node, payload)` accepts;
    ("1", []) for no filter."""
    params: list[Any] = []
    if node is None:
        return "1", params
    return _sql(node, payload, params), params


def _sql(node: FilterNode, payload: str, params: list[Any]) -> str:
    if isinstance(node, Comparison):
        return f"coalesce({_comparison(node, payload, params)}, 0)"
    if isinstance(node, And):
        return "(" + " AND ".join(_sql(c, payload, params) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_sql(c, payload, params) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"(NOT {_sql(node.child, payload, params)})"
    raise TypeError(f"not a filter node: {node!r}")
