"""Seeded data sets and exact comparisons. Generated once per process and handed out as copies.

Everything here is deterministic: the same records, vectors and queries on every run and machine,
so a failure is reproducible by re-running the one test.
"""

from __future__ import annotations

import copy
import math
import random
from functools import lru_cache
from typing import Any

from memstack.models import Record

DIM = 8

# ---- filter data set: every value type, missing fields, cross-type look-alikes ------------------
S_VALUES = ["alpha", "beta", "gamma", "Alpha", "", "ünïcode", "日本語", "🧠 memory", "2", "true"]
DATE_VALUES = ["2023-12-31", "2024-01-15", "2024-07-01", "2024-07-01T12:00:00", "2025-03-09"]
I_VALUES = [-3, -1, 0, 1, 2, 3, 5, 2**40]
F_VALUES = [-1.5, 0.0, 0.5, 1.0, 2.0, 2.5, 3.25, 1e-9]
TAG_VALUES = ["red", "green", "blue", "日本", "2"]
NUM_VALUES = [1, 2, 3, 5, 8]
MIXED_VALUES: list[Any] = ["2", 2, 2.0, 2.5, True, False, "true", 0, ["2"], [2], [True]]
FILTER_FIELDS = ("s", "date", "i", "f", "b", "tags", "nums", "bits", "mixed", "nope")
FILTER_SIZE = 64

# Operands per value family, chosen to hit stored values, near misses and look-alikes.
OPERANDS: dict[str, list[Any]] = {
    "str": ["alpha", "", "日本語", "2024-07-01", "2", "red", "zzz"],
    "int": [2, 0, -3, 7],
    "float": [2.0, 2.5, -1.5, 0.25],
    "bool": [True, False],
}
IN_OPERANDS: dict[str, list[list[Any]]] = {
    "str": [["alpha", "beta"], ["", "日本語", "red"], ["zzz"], ["2", "true"]],
    "int": [[1, 2], [0, -3, 8], [7]],
    "float": [[2.0, 0.5], [2.5], [1, 2.5]],
    "bool": [[True], [False, True]],
}


def _vector(rng: random.Random) -> list[float]:
    while True:
        v = [rng.gauss(0.0, 1.0) for _ in range(DIM)]
        if math.sqrt(sum(x * x for x in v)) > 0.1:
            return [round(x, 6) for x in v]


def _subset(rng: random.Random, values: list[Any]) -> list[Any]:
    return [v for v in values if rng.random() < 0.4]


@lru_cache(maxsize=1)
def _filter_rows() -> tuple[tuple[str, tuple[float, ...], str], ...]:
    import json

    rng = random.Random(20240701)
    rows = []
    for n in range(FILTER_SIZE):
        payload: dict[str, Any] = {"n": n}
        present = rng.random

        if present() < 0.85:
            payload["s"] = rng.choice(S_VALUES)
        if present() < 0.8:
            payload["date"] = rng.choice(DATE_VALUES)
        if present() < 0.85:
            payload["i"] = rng.choice(I_VALUES)
        if present() < 0.85:
            payload["f"] = rng.choice(F_VALUES)
        if present() < 0.8:
            payload["b"] = rng.random() < 0.5
        if present() < 0.8:
            payload["tags"] = _subset(rng, TAG_VALUES)
        if present() < 0.8:
            payload["nums"] = _subset(rng, NUM_VALUES)
        if present() < 0.7:
            payload["bits"] = [rng.random() < 0.5 for _ in range(rng.randint(0, 2))]
        if present() < 0.85:
            payload["mixed"] = copy.deepcopy(rng.choice(MIXED_VALUES))
        rows.append((f"rec-{n:03d}", tuple(_vector(rng)), json.dumps(payload)))
    return tuple(rows)


def filter_records() -> list[Record]:
    """64 records over fields of every type (some missing), for filters and pagination."""
    import json

    return [Record(id=i, vector=list(v), payload=json.loads(p)) for i, v, p in _filter_rows()]


def query_vector() -> list[float]:
    return [0.5, -0.25, 1.0, 0.0, 0.75, -1.0, 0.125, 0.3][:DIM]


# ---- search data set: brute force ground truth --------------------------------------------------
_Rows = tuple[tuple[str, tuple[float, ...]], ...]
_Queries = tuple[tuple[float, ...], ...]


@lru_cache(maxsize=1)
def _search_rows() -> tuple[_Rows, _Queries]:
    rng = random.Random(424242)
    records = tuple((f"vec-{n:04d}", tuple(_vector(rng))) for n in range(400))
    queries = tuple(tuple(_vector(rng)) for _ in range(20))
    return records, queries


def search_records() -> list[Record]:
    """400 non-normalised seeded vectors: scores must be cosine, not raw dot products."""
    records, _ = _search_rows()
    return [Record(id=i, vector=list(v), payload={"n": n}) for n, (i, v) in enumerate(records)]


def search_queries() -> list[list[float]]:
    return [list(q) for q in _search_rows()[1]]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def brute_force(records: list[Record], query: list[float]) -> list[tuple[str, float]]:
    scored = [(r.id, cosine(r.vector or [], query)) for r in records]
    scored.sort(key=lambda p: (-p[1], p[0]))
    return scored


def bulk_records(n: int) -> list[Record]:
    rng = random.Random(6000 + n)
    return [
        Record(id=f"bulk-{i:05d}", vector=[round(rng.uniform(-1, 1), 4) or 0.5 for _ in range(DIM)],
               payload={"i": i})
        for i in range(n)
    ]


def unit(k: int, scale: float = 1.0) -> list[float]:
    v = [0.0] * DIM
    v[k] = scale
    return v


# ---- payloads ---------------------------------------------------------------------------------
LARGE_TEXT = ("Long-term memory for agents: 記憶 🧠 — " * 4000)[: 100 * 1024]

PAYLOAD_SAMPLES: dict[str, Any] = {
    "text": "plain text",
    "empty": "",
    "int": 42,
    "zero": 0,
    "negative": -7,
    "big_int": 2**53 - 1,
    "float": 3.141592653589793,
    "float_whole": 2.0,
    "float_tiny": 1e-300,
    "float_neg": -0.1,
    "true": True,
    "false": False,
    "str_list": ["a", "b", "日本"],
    "int_list": [1, 2, 3],
    "float_list": [0.5, 1.0, -2.25],
    "bool_list": [True, False],
    "empty_list": [],
    "numeric_text": "123",
    "bool_text": "true",
    "quotes": "it's a \"quote\" \\ back`slash`; DROP TABLE x; --",
    "emoji": "memory 🧠💾 ok 👩‍💻",
    "cjk": "長期記憶のテスト，中文，한국어",
    "rtl": "ذاكرة طويلة المدى",
    "combining": "e\u0301 a\u0308",
    "newlines": "line 1\nline 2\r\n\ttabbed",
}


def same_value(got: Any, want: Any) -> bool:
    """Equal *and* the same type (1 is not 1.0, True is not 1), recursively for lists."""
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(same_value(g, w) for g, w in zip(got, want, strict=True))
        )
    return type(got) is type(want) and got == want


def payload_differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Human-readable differences between a returned payload and the one written."""
    out = []
    for key in sorted(set(got) | set(want)):
        if key not in got:
            out.append(f"{key}: missing (wrote {_show(want[key])})")
        elif key not in want:
            out.append(f"{key}: unexpected key, value {_show(got[key])}")
        elif not same_value(got[key], want[key]):
            out.append(f"{key}: wrote {_show(want[key])}, read {_show(got[key])}")
    return out


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def payload_problem(where: str, got: dict[str, Any], want: dict[str, Any]) -> str | None:
    diffs = payload_differences(got, want)
    return f"{where}: " + "; ".join(diffs) if diffs else None


def assert_equal(got: Any, want: Any, what: str) -> None:
    assert got == want, f"{what}: got {got!r}, expected {want!r}"


# ---- filtered top-k data set (contract version 3) ---------------------------------------------
# 240 records: 12 users of 20 records each (the engine always queries inside a scope, and a
# user with 20 of 240 records is where "take the limit nearest, then filter" shows), plus fields
# for every operator. Each case below selects more than 5 and fewer than all records.
TOPK_SIZE = 240
TOPK_CASES: dict[str, dict[str, Any]] = {
    "eq": {"u": "u03"},
    "ne": {"g": {"ne": 4}},
    "in": {"u": {"in": ["u01", "u07"]}},
    "nin": {"u": {"nin": [f"u{n:02d}" for n in range(10)]}},
    "gt": {"g": {"gt": 7}},
    "gte": {"f": {"gte": 0.6}},
    "lt": {"g": {"lt": 1}},
    "lte": {"f": {"lte": -0.7}},
    "contains": {"t": {"contains": "blue"}},
    "range_str": {"s": {"gt": "mango"}},
    "and": {"AND": [{"u": "u05"}, {"b": True}]},
    "or": {"OR": [{"u": "u02"}, {"g": 9}]},
    "not": {"NOT": {"g": {"gte": 1}}},
}


@lru_cache(maxsize=1)
def _topk_rows() -> tuple[tuple[str, tuple[float, ...], str], ...]:
    import json

    rng = random.Random(17017)
    rows = []
    for n in range(TOPK_SIZE):
        payload = {
            "u": f"u{n % 12:02d}",
            "g": rng.randint(0, 9),
            "f": round(rng.uniform(-1, 1), 3),
            "s": rng.choice(["apple", "kiwi", "mango", "pear", "plum"]),
            "t": _subset(rng, ["red", "green", "blue"]),
            "b": rng.random() < 0.5,
        }
        rows.append((f"tk-{n:03d}", tuple(_vector(rng)), json.dumps(payload)))
    return tuple(rows)


def topk_records() -> list[Record]:
    import json

    return [Record(id=i, vector=list(v), payload=json.loads(p)) for i, v, p in _topk_rows()]


def topk_queries() -> list[list[float]]:
    rng = random.Random(99)
    return [_vector(rng) for _ in range(3)]


def close_score(got: float, want: float, tol: float) -> bool:
    return abs(got - want) <= tol
