"""Payload ⇄ Chroma metadata, so every payload round-trips exactly and stays filterable.

Chroma metadata holds str, int (64-bit), float and bool values, and non-empty lists of one of
those types. A payload may hold more (mixed or empty lists, None, big ints, NaN, nested values,
keys that are not identifiers), and Chroma 1.5 compares numbers inexactly: a float is stored
through a decimal text form that can move it by one unit in the last place, and an int field
compared with a non-integral float operand is compared with that operand truncated
(``0 == 0.5`` holds). So a record's metadata is:

- ``<field>``: the value itself, for identifier keys holding str / bool / int64 / finite float.
  Strings and bools are filtered here; ints read back from here (int64 is exact);
- ``memstack:k:<field>``: for a number, an int64 *order key*: the float's bits, mapped so that
  integer order is numeric order (an int is taken as a float, exact up to 2**53 — the filter
  parser refuses larger operands; a larger int gets a float rounded away from zero, which
  compares right with every operand). Chroma compares ints exactly, so numeric filters are
  exact, int and float alike, and a float reads back bit for bit from its key;
- ``memstack:<token>:c:<field>``: for a list-valued field, one tag per distinct scalar element
  (``s<text>``, ``b1``/``b0``, ``n<canonical number>``) — what ``contains`` looks at;
- ``memstack:j:<field>``: the exact value as JSON whenever the above does not give it back
  (lists, None, nested values, ints beyond 64 bits, NaN, ±infinity, -0.0); it wins on read;
- ``memstack:x``: JSON of every entry whose key is not an identifier (filters cannot name those).

Reserved keys contain ``:``, which no identifier does, so they never collide with a field. Only
numbers and lists cost extra keys: a payload of strings is stored as it is.

The list-valued keys carry the collection's random `token` because of a Chroma bug
(chroma-core/chroma#7594, open in 1.5.9): `delete_collection` leaves list-valued metadata
behind, and a record later inserted anywhere in the same Chroma can inherit it. Inherited lists
then have another collection's key names, which this layout never reads or filters on; and no
user field is ever stored as a native list, so a list under a plain key is dropped on read.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memstack.errors import InvalidInput

PREFIX = "memstack:"
EXACT = PREFIX + "j:"
ORDER = PREFIX + "k:"
EXTRA = PREFIX + "x"

# Chroma (1.5) breaks a collection for good when one record carries more than ~5,461 list
# elements, or keys (an SQLite variable limit): every later write fails. Stay well below it.
MAX_LIST_ELEMENTS = 4096
MAX_KEYS = 4096

_EXACT_INT = 2**53  # every int up to this size is exactly a float
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SIGN_OFF = 0x7FFF_FFFF_FFFF_FFFF
_F64 = struct.Struct("<d")
_I64 = struct.Struct("<q")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"[0-9a-f]{8,32}")
_known_keys: set[str] = set()  # identifiers seen before: skips the regex on the hot path


@dataclass(frozen=True)
class Layout:
    """The reserved list keys of one collection (named with its token)."""

    token: str
    contains: str  # prefix: + field name

    @classmethod
    def for_token(cls, token: str) -> Layout:
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"not a layout token: {token!r}")
        return cls(token, f"{PREFIX}{token}:c:")

    @staticmethod
    def new_token() -> str:
        return secrets.token_hex(4)


def order_key(value: float) -> int:
    """An int64 whose order is the order of the (non-NaN) float; 0.0 and -0.0 share one."""
    bits = _I64.unpack(_F64.pack(value))[0]
    return bits if bits >= 0 else -(bits & _SIGN_OFF)


def from_order_key(key: int) -> float:
    bits = key if key >= 0 else (-key) | ~_SIGN_OFF
    return float(_F64.unpack(_I64.pack(bits))[0])


def number_key(value: int | float) -> int:
    """The order key of a number (a filter operand or a stored value)."""
    if isinstance(value, int) and not -_EXACT_INT <= value <= _EXACT_INT:
        return order_key(_big_float(value))
    return order_key(float(value))


def is_identifier(key: object) -> bool:
    if key in _known_keys:
        return True
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
        if len(_known_keys) < 10_000:
            _known_keys.add(key)
        return True
    return False


def number_tag(value: int | float) -> str:
    """One tag per mathematical value, so 1 and 1.0 match but 1 and True do not."""
    if isinstance(value, float):
        if value.is_integer():
            return "n" + str(int(value))
        return "n" + repr(value)
    return "n" + str(int(value))


def tag(value: Any) -> str | None:
    """The contains-tag of a list element, or None when no filter value can equal it."""
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, int):
        return number_tag(value)
    if isinstance(value, float):
        return number_tag(value) if math.isfinite(value) else None
    return None


_NATIVE = (str, bool, int, float)


def _plain(value: int | float | str) -> int | float | str:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str.__str__(value)


def _big_float(value: int) -> float:
    """For |value| > 2**53: a float that compares like `value` with every filter value (those
    stay within ±2**53), so rounded away from zero (2**53 + 1 must stay above 2**53)."""
    try:
        out = float(value)
    except OverflowError:
        return math.copysign(sys.float_info.max, value)
    if abs(out) <= _EXACT_INT:
        out = math.nextafter(out, math.copysign(math.inf, value))
    return out


def _json(record_id: str, key: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"chroma: record {record_id!r}: payload field {key!r} holds a value that cannot be "
            f"stored ({type(value).__name__}): {exc}"
        ) from None


def encode(record_id: str, payload: Mapping[str, Any], layout: Layout) -> dict[str, Any] | None:
    """The Chroma metadata of one payload (None for an empty payload, which Chroma wants)."""
    md: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    list_elements = 0
    for key, value in payload.items():
        if not is_identifier(key):
            if extra is None:
                extra = {}
            extra[key] = value
            continue
        kind = type(value)
        if kind not in _NATIVE and isinstance(value, int | float | str):
            value = _plain(value)  # IntEnum, StrEnum, numpy.float64, ...: stored as the base type
            kind = type(value)
        if kind is str or kind is bool:
            md[key] = value
        elif kind is int:
            md[ORDER + key] = number_key(value)
            if _INT64_MIN <= value <= _INT64_MAX:
                md[key] = value
            else:  # Chroma would make it a float
                md[EXACT + key] = _json(record_id, key, value)
        elif kind is float:
            if value != value:  # NaN: equal to nothing, ordered with nothing: no order key
                md[EXACT + key] = "NaN"
                continue
            md[ORDER + key] = order_key(value)
            if math.isinf(value):  # Chroma would drop the record's whole metadata
                md[EXACT + key] = "Infinity" if value > 0 else "-Infinity"
            else:
                md[key] = value
                if value == 0.0 and math.copysign(1.0, value) < 0:
                    md[EXACT + key] = "-0.0"
        elif value is None:
            md[EXACT + key] = "null"
        elif isinstance(value, list | tuple):
            md[EXACT + key] = _json(record_id, key, list(value))
            tags = list(dict.fromkeys(t for t in map(tag, value) if t is not None))
            if tags:
                md[layout.contains + key] = tags
                list_elements += len(tags)
        else:
            md[EXACT + key] = _json(record_id, key, value)
    if extra is not None:
        md[EXTRA] = _json(record_id, "<keys that are not identifiers>", extra)
    if list_elements > MAX_LIST_ELEMENTS or len(md) > MAX_KEYS:
        raise InvalidInput(
            f"chroma: record {record_id!r} is too large for Chroma: at most {MAX_KEYS} keys and "
            f"{MAX_LIST_ELEMENTS} distinct list elements per record, after encoding (beyond "
            "~5,400 Chroma breaks the whole collection)."
        )
    return md or None


def decode(md: Mapping[str, Any] | None, layout: Layout) -> dict[str, Any]:
    """The payload a metadata dict was encoded from (`layout` is accepted for symmetry)."""
    if not md:
        return {}
    out: dict[str, Any] = {}
    exact: list[tuple[str, str]] = []
    numbers: list[tuple[str, int]] = []
    for key, value in md.items():
        if not key.startswith(PREFIX):
            if type(value) is not list:  # a list here was left behind by Chroma, not written
                out[key] = value
        elif key.startswith(ORDER):
            numbers.append((key[len(ORDER):], value))
        elif key.startswith(EXACT):
            exact.append((key[len(EXACT):], value))
        elif key == EXTRA:
            out.update(json.loads(value))
    for key, order in numbers:
        if type(out.get(key)) is not int:  # ints are exact as they are; floats are not
            out[key] = from_order_key(order)
    for key, text in exact:
        out[key] = json.loads(text)
    return out
