"""Keyword search over a sparse vector: the engine's own BM25, with the searched scope's statistics.

Each point carries the engine's tokens of its payload `text` (`memstack.keyword_index`: English
stop words and light stemming, or `simple`) as a sparse vector named `KW_VECTOR`: index = a
stable 32-bit hash of the token, value = its frequency in the text. Its token count is the
payload key `_memstack_kwlen`.

Why not let Qdrant's dot product (with `Modifier.IDF`) rank: BM25's length normalisation
divides by the *searched scope's* average length, known only at query time, and a record
belongs to several scopes (user, user + agent, ...) with different averages; no value stored
per point is right for all of them. So Qdrant serves what an inverted index serves -- every
point of the scope holding a query term, with its term frequencies -- plus the scope's size and
total length (a facet over `_memstack_kwlen`), and `bm25` scores exactly as the engine does.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from memstack.keyword_index import TOKENIZERS

KW_VECTOR = "_memstack_kw"
TEXT_FIELD = "text"
K1, B = 1.2, 0.4  # the engine's defaults (SearchConfig.bm25_k1 / bm25_b)


def tokenizer(name: str) -> Callable[[str], list[str]]:
    return TOKENIZERS[name]


def term_id(token: str) -> int:
    """A token's sparse index: the first 4 bytes of its BLAKE2b digest (the same in every
    process and version, unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


def document_terms(payload: Mapping[str, Any], tokenize: Callable[[str], list[str]]
                   ) -> tuple[list[int], list[float], int]:
    """(sparse indices, term frequencies, token count) of a payload's text, as the engine
    tokenises it. Tokens whose hashes collide share one index (their frequencies add up)."""
    counts: Counter[int] = Counter(term_id(t) for t in tokenize(str(payload.get(TEXT_FIELD, ""))))
    indices = sorted(counts)
    return indices, [float(counts[i]) for i in indices], sum(counts.values())


def query_terms(text: str, tokenize: Callable[[str], list[str]]) -> list[int]:
    """The distinct sparse indices of a query (a repeated term counts once, as in the engine)."""
    return sorted({term_id(t) for t in tokenize(text)})


def scope_statistics(facet_hits: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """(records, total token count) of a scope from (length, how many records) pairs."""
    n = total = 0
    for length, count in facet_hits:
        n += count
        total += length * count
    return n, total


def bm25(postings: Mapping[str, tuple[dict[int, float], int]], terms: Iterable[int], n: int,
         total: float, *, k1: float = K1, b: float = B) -> dict[str, float]:
    """id → score, as `memstack.keyword_index.KeywordIndex.search` computes it. `postings` holds
    every record of the scope with a query term: id → ({term: tf}, token count); `n` and `total`
    are the scope's size and total length."""
    if not n:
        return {}
    avg = total / n or 1.0
    df: Counter[int] = Counter()
    for tfs, _ in postings.values():
        df.update(tfs.keys())
    scores: dict[str, float] = defaultdict(float)
    for term in terms:
        d = df.get(term, 0)
        if not d:
            continue
        idf = math.log(1 + (n - d + 0.5) / (d + 0.5))
        for rid, (tfs, length) in postings.items():
            tf = tfs.get(term)
            if tf:
                norm = tf + k1 * (1 - b + b * length / avg)
                scores[rid] += idf * tf * (k1 + 1) / norm
    return scores
