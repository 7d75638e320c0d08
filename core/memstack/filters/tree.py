"""The typed filter tree every backend translates. Built only by `memstack.filters.parse`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Scalar = str | int | float | bool
# The filter operators: the one list (the parser, the capabilities `filter:<op>` and the
# contract suite all read it from here).
Op = Literal["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains"]
OPERATORS: tuple[str, ...] = get_args(Op)
RANGE_OPS: tuple[str, ...] = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Comparison:
    """`field <op> value`. For `in`/`nin`, `value` is a non-empty tuple of scalars."""

    field: str
    op: Op
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class And:
    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Not:
    child: FilterNode


FilterNode = Comparison | And | Or | Not
