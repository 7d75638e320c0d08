"""JSON text for `jsonb` that keeps every Python number's type and value through Postgres.

`jsonb` stores numbers as `numeric` and prints them back without an exponent, so `json.dumps`'s
`1e+20` would come back as the *int* 100000000000000000000. Floats that large are always whole
numbers, so we write them as exact integers with a trailing `.0`: the value is exact, the type
survives, and numeric comparisons in filters see the same value Python compares.
"""

from __future__ import annotations

import json
import math
from typing import Any

_plain = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def number_text(value: float) -> str:
    """A float as JSON text that `numeric` keeps exactly and prints back with a decimal point."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be stored in JSON")
    text = repr(value)
    if "e+" in text or "E+" in text:
        return f"{int(value)}.0"  # |value| >= 1e16 > 2**53: a whole number, printed exactly
    return text


def _needs_care(value: Any) -> bool:
    if isinstance(value, float):
        return abs(value) >= 1e16 or not math.isfinite(value)
    if isinstance(value, dict):
        return any(_needs_care(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_needs_care(v) for v in value)
    return False


def _key(key: Any) -> str:
    """Dict keys as `json.dumps` writes them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, float):
        return number_text(key)
    if isinstance(key, int):
        return str(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _encode(value: Any) -> str:
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, dict):
        return "{" + ",".join(
            _plain.encode(_key(k)) + ":" + _encode(v) for k, v in value.items()
        ) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return _plain.encode(value)


def dumps(value: Any) -> str:
    """JSON text for `value`; the fast standard encoder unless a float needs care."""
    if _needs_care(value):
        return _encode(value)
    return _plain.encode(value)
