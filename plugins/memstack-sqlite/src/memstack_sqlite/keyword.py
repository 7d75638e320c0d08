"""Keyword search inside the SQLite file: the engine's own BM25 over a terms table.

The engine ranks keywords with Okapi BM25 over its own tokens (`memstack.keyword_index`: English
stop words, light stemming, k1 1.2, b 0.4) with the term statistics of the searched scope. SQLite's
FTS5 tokenises and ranks differently, so hybrid search would rank differently here than on every
other store. Instead `upsert` writes each record's term frequencies (the engine's tokens of its
`text`) to `<collection>__kw` with its scope columns, and the record's token count to `kw_len`.
A query reads, through the (scope column, term) index, the postings of its terms within the scope
(`memstack.keyword_index.scope_key`, exactly how the engine partitions its own index), the
scope's size and total length through the scope index, and scores in Python. The rest of the
filter only selects among the scored rows, so the scores equal the engine's.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from memstack.keyword_index import TOKENIZERS

TEXT_FIELD = "text"
K1, B = 1.2, 0.4  # the engine's defaults (SearchConfig.bm25_k1 / bm25_b)


def tokenizer(name: str) -> Callable[[str], list[str]]:
    return TOKENIZERS[name]


def document_terms(payload: dict[str, Any], tokenize: Callable[[str], list[str]]
                   ) -> tuple[Counter[str], int]:
    """(term → frequency, token count) of a payload's text, as the engine tokenises it."""
    counts = Counter(tokenize(str(payload.get(TEXT_FIELD, ""))))
    return counts, sum(counts.values())


def bm25(postings: list[tuple[int, str, int]], lengths: dict[int, int], n: int, total: float,
         *, k1: float = K1, b: float = B) -> dict[int, float]:
    """seq → score, as `memstack.keyword_index.KeywordIndex.search` computes it: `postings` are
    (seq, term, tf) of the scope's rows holding a query term, `lengths` their token counts, `n`
    and `total` the scope's size and total length."""
    if not n:
        return {}
    avg = total / n or 1.0
    df: Counter[str] = Counter(term for _, term, _ in postings)
    scores: dict[int, float] = defaultdict(float)
    for seq, term, tf in postings:
        d = df[term]
        idf = math.log(1 + (n - d + 0.5) / (d + 0.5))
        norm = tf + k1 * (1 - b + b * lengths[seq] / avg)
        scores[seq] += idf * tf * (k1 + 1) / norm
    return scores
