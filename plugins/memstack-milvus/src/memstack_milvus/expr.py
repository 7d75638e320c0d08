"""Filter trees → Milvus boolean expressions over the typed filter index (see `encoding`).

Reproduces `memstack.filters.reference` exactly:

- Under a negation (``NOT``, and the ``not`` inside ne/nin) every comparison is written
  ``(exists idx["k"] and idx["k"] <op> literal)``. Milvus treats a missing JSON key as null and
  ``not (null)`` stays null (Milvus Lite drops such rows from ``not (..)``), so an unguarded
  ``not (idx["k"] == 1)`` would lose records without the field. With the guard every atom is
  plainly true or false, and ``not`` is the exact complement. Outside any negation the guard is
  left out (it costs Milvus Lite ~7 ms a query): with only ``and``/``or`` above it, a null atom
  selects exactly what a false one would.
- A key holds one type family only, so cross-family comparisons are false without relying on
  how Milvus compares a string with a number (Milvus Lite says ``true == 1``).
- ``ne``/``nin`` are "a scalar is present (``t_``) and not equal".
- Numbers: ints live under ``i_`` and are compared with ints (a float bound is rounded the
  right way), floats under ``f_`` and are compared with floats; so 1 == 1.0 and nothing depends
  on Milvus comparing int64 with double.
- Strings compare as hex of their UTF-8 bytes: code-point order. A string over 512 bytes is
  indexed by its first 512 bytes and a hash. Its order against a value is decided by the prefix
  unless the value starts with that very prefix; those few records are read and compared in
  Python by `resolve_long`, and selected by their hash.

Literals are only hex digits, Python-formatted numbers and true/false: no user text is spliced.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from memstack.errors import FilterError
from memstack.filters.parse import FIELD_RE, family
from memstack.filters.tree import And, Comparison, FilterNode, Not, Or
from memstack_milvus.encoding import INT64_MAX, INT64_MIN, SHORT_BYTES, sha, utf8

INDEX_FIELD = "idx"
_SYMBOL = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_PY_OP = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}

# (field, prefix hex of the value's first SHORT_BYTES bytes) → full string values of the records
# whose long string starts with that prefix.
LongResolver = Callable[[str, str], list[str]]


def key(tag: str, field: str) -> str:
    return f'{INDEX_FIELD}["{tag}{field}"]'


def exists(tag: str, field: str) -> str:
    return f"exists {key(tag, field)}"


def _any(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _str(hex_text: str) -> str:
    return f'"{hex_text}"'


def _signed(text: str) -> str:
    """Negative literals in parentheses: Milvus Lite takes `-2.5` in comparisons only."""
    return f"({text})" if text.startswith("-") else text


def _int(value: int) -> str:
    return _signed(str(value))


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise FilterError(f"value {value!r} is not a finite number")
    return _signed(repr(float(value)))


def _integral(value: int | float) -> int | None:
    """The value as an int64 when it is a whole number in int64 range, else None."""
    if isinstance(value, int):
        whole = value
    elif value.is_integer():
        whole = int(value)
    else:
        return None
    return whole if INT64_MIN <= whole <= INT64_MAX else None


class Translator:
    """One translation; `resolve_long` answers the rare long-string range case (see above)."""

    def __init__(self, resolve_long: LongResolver | None = None) -> None:
        self.resolve_long = resolve_long
        self._negations = 0  # how many negations enclose the part being translated

    def _negated(self, translate: Callable[[], str]) -> str:
        self._negations += 1
        try:
            return translate()
        finally:
            self._negations -= 1

    def _guarded(self, k: str, test: str) -> str:
        return f"(exists {k} and {test})" if self._negations else f"({test})"

    def _atom(self, tag: str, field: str, symbol: str, literal: str) -> str:
        k = key(tag, field)
        return self._guarded(k, f"{k} {symbol} {literal}")

    def _has(self, tag: str, field: str, literal: str) -> str:
        k = key(tag, field)
        return self._guarded(k, f"json_contains({k}, {literal})")

    def build(self, node: FilterNode | None) -> str:
        return "" if node is None else self._node(node)

    def _node(self, node: FilterNode) -> str:
        if isinstance(node, Comparison):
            return self._comparison(node)
        if isinstance(node, Not):
            child = node.child
            if isinstance(child, Not):  # NOT NOT x == x (keeps expressions shallow)
                return self._node(child.child)
            inner = self._negated(lambda: self._node(child))
            return f"not {inner}" if isinstance(child, Comparison) else f"not ({inner})"
        if isinstance(node, And | Or):
            if not node.children:
                raise FilterError(f"{type(node).__name__} without children")
            joiner = " and " if isinstance(node, And) else " or "
            parts = [self._node(c) for c in node.children]
            return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"
        raise FilterError(f"not a filter node: {node!r}")

    # --- comparisons ------------------------------------------------------------------------
    def _comparison(self, c: Comparison) -> str:
        if not isinstance(c.field, str) or not FIELD_RE.match(c.field):
            raise FilterError(f"field name {c.field!r} is not an identifier", path=str(c.field))
        f, op, v = c.field, c.op, c.value
        if op in ("in", "nin"):
            if not isinstance(v, tuple | list) or not v:
                raise FilterError(f"{op} takes a non-empty list, got {v!r}", path=f)
            unique = dict.fromkeys((family(x), x) for x in v)  # keeps 1 and True apart
            if op == "in":
                return _any([self._eq(f, x) for _, x in unique])
            any_eq = self._negated(lambda: _any([self._eq(f, x) for _, x in unique]))
            return f"(exists {key('t_', f)} and not {any_eq})"
        if op == "eq":
            return self._eq(f, v)
        if op == "ne":
            return f"(exists {key('t_', f)} and not {self._negated(lambda: self._eq(f, v))})"
        if op in _PY_OP:
            return self._range(f, op, v)
        if op == "contains":
            return self._contains(f, v)
        raise FilterError(f"unknown operator {op!r}", path=f)

    def _scalar_family(self, field: str, value: object) -> str:
        fam = family(value)
        if fam not in ("str", "num", "bool"):
            raise FilterError(f"value {value!r} is not a string, number or boolean", path=field)
        if fam == "num" and not math.isfinite(value):  # type: ignore[arg-type]
            raise FilterError(f"value {value!r} is not a finite number", path=field)
        return fam

    def _eq(self, f: str, v: object) -> str:
        fam = self._scalar_family(f, v)
        if fam == "bool":
            return self._atom("b_", f, "==", "true" if v else "false")
        if fam == "str":
            raw = utf8(v)  # type: ignore[arg-type]
            if len(raw) <= SHORT_BYTES:
                return self._atom("s_", f, "==", _str(raw.hex()))
            return self._atom("h_", f, "==", _str(sha(raw)))
        parts = []
        whole = _integral(v)  # type: ignore[arg-type]
        if whole is not None:
            parts.append(self._atom("i_", f, "==", _int(whole)))
        parts.append(self._atom("f_", f, "==", _float(v)))  # type: ignore[arg-type]
        return _any(parts)

    def _range(self, f: str, op: str, v: object) -> str:
        fam = self._scalar_family(f, v)
        if fam == "bool":
            raise FilterError(f"{op} compares numbers or strings, not booleans", path=f)
        if fam == "num":
            return self._num_range(f, op, v)  # type: ignore[arg-type]
        return self._str_range(f, op, v)  # type: ignore[arg-type]

    def _num_range(self, f: str, op: str, v: int | float) -> str:
        parts = []
        # for an int x: x > v ⇔ x > floor(v), x <= v ⇔ x <= floor(v),
        #               x >= v ⇔ x >= ceil(v), x < v ⇔ x < ceil(v)
        bound = math.floor(v) if op in ("gt", "lte") else math.ceil(v)
        if bound > INT64_MAX:
            if op in ("lt", "lte"):
                parts.append(f"({exists('i_', f)})")
        elif bound < INT64_MIN:
            if op in ("gt", "gte"):
                parts.append(f"({exists('i_', f)})")
        else:
            parts.append(self._atom("i_", f, _SYMBOL[op], _int(bound)))
        parts.append(self._atom("f_", f, _SYMBOL[op], _float(v)))
        parts.append(self._atom("x_", f, "==", _str("+" if op in ("gt", "gte") else "-")))
        return _any(parts)

    def _str_range(self, f: str, op: str, v: str) -> str:
        raw = utf8(v)
        symbol, value_hex = _SYMBOL[op], _str(raw.hex())
        prefix_hex = raw[:SHORT_BYTES].hex()
        parts = [
            self._atom("s_", f, symbol, value_hex),
            # a long string whose prefix differs from the value's orders like its prefix
            # (always guarded: `!=` on a missing key is the one test Milvus might call true)
            f"(exists {key('p_', f)} and {key('p_', f)} != {_str(prefix_hex)} "
            f"and {key('p_', f)} {symbol} {value_hex})",
        ]
        if len(raw) >= SHORT_BYTES:  # only then can a stored prefix equal the value's
            if self.resolve_long is None:
                raise FilterError(
                    f"a range on a string of {SHORT_BYTES}+ bytes needs the store", path=f
                )
            compare = _PY_OP[op]
            hashes = sorted(
                {sha(utf8(s)) for s in self.resolve_long(f, prefix_hex) if compare(utf8(s), raw)}
            )
            if hashes:
                parts.append(_any([self._atom("h_", f, "==", _str(h)) for h in hashes]))
        return _any(parts)

    def _contains(self, f: str, v: object) -> str:
        fam = self._scalar_family(f, v)
        if fam == "bool":
            return self._has("B_", f, "true" if v else "false")
        if fam == "str":
            raw = utf8(v)  # type: ignore[arg-type]
            if len(raw) <= SHORT_BYTES:
                return self._has("S_", f, _str(raw.hex()))
            return self._has("H_", f, _str(sha(raw)))
        parts = []
        whole = _integral(v)  # type: ignore[arg-type]
        if whole is not None:
            parts.append(self._has("I_", f, _int(whole)))
        parts.append(self._has("F_", f, _float(v)))  # type: ignore[arg-type]
        return _any(parts)
