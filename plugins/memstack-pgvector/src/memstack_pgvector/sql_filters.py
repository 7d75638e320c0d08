"""Filter trees → a SQL boolean over the `payload jsonb` column, with every value bound.

The SQL text is built only from constants and `psycopg.sql` pieces; field names and values go to
the server as parameters (`%s`), so nothing a user typed is ever parsed as SQL.

How each operator reproduces `memstack.filters.reference` exactly:

- eq / in: `payload @> {"f": v}`. jsonb containment compares numbers numerically (1 = 1.0),
  keeps booleans apart from numbers, and never matches a list field against a scalar or a
  missing field. It is also what the `jsonb_path_ops` GIN index accelerates (scope filters).
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
from memstack_pgvector.jsonenc import dumps

_RANGE_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
PAYLOAD = sql.Identifier("payload")


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dumps)


class _Builder:
    def __init__(self, column: sql.Composable) -> None:
        self.col = column
        self.params: list[Any] = []

    def node(self, node: FilterNode) -> sql.Composable:
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, And | Or):
            glue = sql.SQL(" AND " if isinstance(node, And) else " OR ")
            parts = [self.node(c) for c in node.children]
            return sql.SQL("({})").format(glue.join(parts))
        if isinstance(node, Not):
            return sql.SQL("(NOT {})").format(self.node(node.child))
        raise TypeError(f"not a filter node: {node!r}")

    def _contains(self, doc: dict[str, Any]) -> sql.Composable:
        self.params.append(_jsonb(doc))
        return sql.SQL("({} @> %s)").format(self.col)

    def _any_equal(self, field: str, values: tuple[Any, ...]) -> sql.Composable:
        parts = [self._contains({field: v}) for v in values]
        return parts[0] if len(parts) == 1 else sql.SQL("({})").format(sql.SQL(" OR ").join(parts))

    def _is_scalar(self, field: str) -> sql.Composable:
        self.params.append(field)
        return sql.SQL(
            "COALESCE(jsonb_typeof({} -> %s::text) IN ('string', 'number', 'boolean'), false)"
        ).format(self.col)

    def comparison(self, c: Comparison) -> sql.Composable:
        op, field, value = c.op, c.field, c.value
        if op == "eq":
            return self._contains({field: value})
        if op == "in":
            return self._any_equal(field, tuple(value))  # type: ignore[arg-type]
        if op == "contains":
            return self._contains({field: [value]})
        if op in ("ne", "nin"):
            values = (value,) if op == "ne" else tuple(value)  # type: ignore[arg-type]
            scalar = self._is_scalar(field)
            return sql.SQL("({} AND NOT {})").format(scalar, self._any_equal(field, values))
        if op in _RANGE_SQL:
            cmp = sql.SQL(_RANGE_SQL[op])
            if family(value) == "num":
                self.params += [field, field, _jsonb(value)]
                return sql.SQL(
                    "COALESCE(jsonb_typeof({col} -> %s::text) = 'number' "
                    "AND ({col} -> %s::text) {cmp} %s, false)"
                ).format(col=self.col, cmp=cmp)
            if family(value) == "str":
                self.params += [field, field, value]
                return sql.SQL(
                    "COALESCE(jsonb_typeof({col} -> %s::text) = 'string' "
                    "AND ({col} ->> %s::text) COLLATE \"C\" {cmp} %s::text, false)"
                ).format(col=self.col, cmp=cmp)
        raise ValueError(f"cannot translate {op!r} with value {value!r}")


def where_clause(
    node: FilterNode | None, column: sql.Composable = PAYLOAD
) -> tuple[sql.Composable, list[Any]]:
    """SQL boolean for `node` (TRUE for no filter) and the parameters its `%s` take, in order."""
    if node is None:
        return sql.SQL("TRUE"), []
    builder = _Builder(column)
    return builder.node(node), builder.params
