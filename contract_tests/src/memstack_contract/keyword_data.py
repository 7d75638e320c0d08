"""Shared data for checking a store's own keyword search against the engine's BM25.

A store that declares `keyword_search` promises the ranking of the engine's in-process index
(`memstack.keyword_index.KeywordIndex`). Plugin tests compare the two on these records, filters
and queries: scopes of several sizes, filters beyond the scope, stop-word-only and punctuated
queries, terms that occur nowhere.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from memstack.models import Record

WORDS = ("zebra lion dance dancing danced hobby hobbies paris tokyo music guitar piano coffee "
         "tea running marathon book novel garden tomato sister brother dog cat 2023 birthday "
         "the a and of to").split()
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"user_id": "u0"},
    {"user_id": "u1", "agent_id": "a1"},
    {"AND": [{"user_id": "u2"}, {"group": "b"}]},
    {"AND": [{"user_id": "u0"}, {"n": {"gte": 5}}]},
    {"AND": [{"user_id": "u1"}, {"OR": [{"group": "a"}, {"n": {"lt": 2}}]}]},
    {"AND": [{"user_id": "u2"}, {"NOT": {"group": "a"}}]},
    {"group": {"in": ["a", "c"]}},
    {"tags": {"contains": "x"}},
    {"AND": [{"user_id": "u0"}, {"group": {"ne": "b"}}]},
]
QUERIES = ["zebra", "dancing hobbies", "paris music guitar", "the and", "tomato tomato garden",
           "2023 birthday sister", "nothing matches xylophone", "Coffee, TEA & running!"]


def keyword_records(n: int, seed: int = 7) -> list[Record]:
    """`n` 4-d records with texts from `WORDS` (0-14 words), in three users' scopes, half with
    an agent, and the payload fields `FILTERS` select on."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 14)))
        payload: dict[str, Any] = {
            "text": text, "user_id": f"u{i % 3}", "group": "abc"[i % 5 % 3], "n": i % 9,
            "tags": ["x"] if i % 4 == 0 else ["y"]}
        if i % 2:
            payload["agent_id"] = f"a{i % 4 // 2}"
        out.append(Record(id=f"r{i:03d}", vector=[rng.random() + 0.01 for _ in range(4)],
                          payload=payload))
    return out


def assert_same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """Same ids in the same order, scores equal to 1e-9 relative."""
    assert [g[0] for g in got] == [w[0] for w in want]
    for (_, a), (_, b) in zip(got, want, strict=True):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
