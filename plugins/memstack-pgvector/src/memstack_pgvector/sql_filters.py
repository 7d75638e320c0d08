"""Filter trees → a SQL boolean over the `payload jsonb` column, with every value bound.

Translation is split in two so that the SQL of a query can be cached: `bind` walks the tree once
and returns its *shape* (operators, `in`/`nin` lengths, number-or-string for ranges: never a
field name or a value) and the parameters; `condition` turns a shape into SQL. The SQL text is
thus built only from constants and `psycopg.sql` pieces chosen by the shape; field names and
values go to the server as parameters (`%s`), so nothing a user typed is ever parsed as SQL,
and one filter shape always gives the same text.

How each operator reproduces `memstack.filters.reference` exactly:

- eq / in: `payload @> {"f": v}`. jsonb containment compares numbers numerically (1 = 1.0),
  keeps booleans apart from numbers, and never matches a list field against a scalar or a
  missing field. It is also what the `jsonb_path_ops` GIN index accelerates. A scope field
  (user_id, agent_id, run_id) equal to a string is `payload ->> 'f' = v AND payload -> 'f' =
  '"v"'::jsonb` instead: the same match (jsonb equality with a string matches only that string;
  a number 5 has the text '5' too, hence the second half), answered by the store's B-tree index
  on the first expression alone. Not through the GIN index: for a large scope the planner ANDed
  the bitmaps of both indexes over every row of the scope (27 ms for a 102k-row scope at 1M)
  where the B-tree alone stops after the rows a query needs.
- contains: `payload @> {"f": [v]}` — only a list field holding an equal scalar element matches.
- ne / nin: the field is a present scalar (`jsonb_typeof` is string, number or boolean) and
  not eq; so a missing/null/list field never matches, a different type always does.
- gt/gte/lt/lte: numbers compare as jsonb numerics, strings as text in the "C" collation,
  i.e. code-point order for UTF-8; other types never match.
- Every leaf is TRUE or FALSE, never NULL (`COALESCE(.., false)` where a missing field would
  give NULL), so `NOT` is the exact complement, records without the field included.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from memstack.filters import And, Comparison, FilterNode, Not, Or
from memstack.filters.parse import family
from memstack.models import SCOPE_FIELDS
from memstack_pgvector.jsonenc import dumps

_RANGE_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
PAYLOAD = sql.Identifier("payload")
# A shape: ("eq",), ("scope", field), ("contains",), ("in" | "ne" | "nin", n),
# ("gt" | ... , "num" | "str"), ("and" | "or", *child shapes), ("not", child shape); None for no
# filter.
Shape = tuple[Any, ...] | None


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dumps)


def bind(node: FilterNode | None) -> tuple[Shape, list[Any]]:
    """The shape of `node` (hashable, value-free) and the parameters its SQL takes, in order."""
    if node is None:
        return None, []
    params: list[Any] = []
    return _bind(node, params), params


def _bind(node: FilterNode, params: list[Any]) -> tuple[Any, ...]:
    if isinstance(node, Comparison):
        return _bind_comparison(node, params)
    if isinstance(node, And | Or):
        return ("and" if isinstance(node, And) else "or",
                *[_bind(c, params) for c in node.children])
    if isinstance(node, Not):
        return ("not", _bind(node.child, params))
    raise TypeError(f"not a filter node: {node!r}")


def _bind_comparison(c: Comparison, params: list[Any]) -> tuple[Any, ...]:
    op, field, value = c.op, c.field, c.value
    if op == "eq":
        if field in SCOPE_FIELDS and isinstance(value, str):
            params += [value, _jsonb(value)]
            return ("scope", field)  # one of three constant names: never text from a user
        params.append(_jsonb({field: value}))
        return ("eq",)
    if op == "contains":
        params.append(_jsonb({field: [value]}))
        return ("contains",)
    if op in ("in", "ne", "nin"):
        values = (value,) if op == "ne" else tuple(value)  # type: ignore[arg-type]
        if op != "in":
            params.append(field)  # for the is-a-scalar test
        params += [_jsonb({field: v}) for v in values]
        return (op, len(values))
    if op in _RANGE_SQL:
        kind = family(value)
        if kind == "num":
            params += [field, field, _jsonb(value)]
            return (op, kind)
        if kind == "str":
            params += [field, field, value]
            return (op, kind)
    raise ValueError(f"cannot translate {op!r} with value {value!r}")


def condition(shape: Shape, column: sql.Composable = PAYLOAD) -> sql.Composable:
    """SQL boolean for a filter of this shape over `column` (TRUE for no filter)."""
    if shape is None:
        return sql.SQL("TRUE")
    return _condition(shape, column)


def _condition(shape: tuple[Any, ...], col: sql.Composable) -> sql.Composable:
    kind = shape[0]
    if kind in ("and", "or"):
        glue = sql.SQL(" AND " if kind == "and" else " OR ")
        return sql.SQL("({})").format(glue.join([_condition(s, col) for s in shape[1:]]))
    if kind == "not":
        return sql.SQL("(NOT {})").format(_condition(shape[1], col))
    if kind in ("eq", "contains"):
        return _contains(col)
    if kind == "scope" and shape[1] in SCOPE_FIELDS:
        # never NULL: a missing field gives NULL AND false, which is false
        return sql.SQL("(({col} ->> {field}) = %s AND COALESCE(({col} -> {field}) = %s, false))"
                       ).format(col=col, field=sql.Literal(shape[1]))
    if kind == "in":
        return _any_equal(col, shape[1])
    if kind in ("ne", "nin"):
        scalar = sql.SQL(
            "COALESCE(jsonb_typeof({} -> %s::text) IN ('string', 'number', 'boolean'), false)"
        ).format(col)
        return sql.SQL("({} AND NOT {})").format(scalar, _any_equal(col, shape[1]))
    if kind in _RANGE_SQL:
        cmp = sql.SQL(_RANGE_SQL[kind])
        if shape[1] == "num":
            return sql.SQL(
                "COALESCE(jsonb_typeof({col} -> %s::text) = 'number' "
                "AND ({col} -> %s::text) {cmp} %s, false)"
            ).format(col=col, cmp=cmp)
        return sql.SQL(
            "COALESCE(jsonb_typeof({col} -> %s::text) = 'string' "
            "AND ({col} ->> %s::text) COLLATE \"C\" {cmp} %s::text, false)"
        ).format(col=col, cmp=cmp)
    raise ValueError(f"not a filter shape: {shape!r}")


def _contains(col: sql.Composable) -> sql.Composable:
    return sql.SQL("({} @> %s)").format(col)


def _any_equal(col: sql.Composable, n: int) -> sql.Composable:
    parts = [_contains(col) for _ in range(n)]
    return parts[0] if n == 1 else sql.SQL("({})").format(sql.SQL(" OR ").join(parts))


def where_clause(
    node: FilterNode | None, column: sql.Composable = PAYLOAD
) -> tuple[sql.Composable, list[Any]]:
    """SQL boolean for `node` (TRUE for no filter) and the parameters its `%s` take, in order."""
    shape, params = bind(node)
    return condition(shape, column), params
