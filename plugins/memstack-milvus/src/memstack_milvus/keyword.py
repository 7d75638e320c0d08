"""Keyword search on Milvus: the engine's own BM25, with Milvus holding the postings.

The engine ranks keywords with Okapi BM25 over its own tokens (`memstack.keyword_index`:
English stop words and light stemming, or the `simple` tokenizer; k1 1.2, b 0.4) with the term
statistics of the *searched scope* (`memstack.keyword_index.scope_key`). Milvus' own full-text
search (the BM25 Function) cannot give that ranking: its analyzers are Milvus' (Milvus Lite 3.2
offers `standard` and `jieba` only), its statistics are the collection's (Milvus Lite even
keeps them per segment), not the scope's, and a filter only selects among hits scored so.

So each row carries a sparse vector `kw`: its term frequencies — the engine's tokens of
`payload["text"]`, each term hashed to a 32-bit dimension — plus its token count + 1 on
dimension 0, which every row has. A query is one batched search on the sparse inverted index,
filtered to the scope, with one unit query vector per query term (the inner product *is* the
term's frequency in each row holding it) and one on dimension 0 (every row of the scope, with
its length): the postings and the scope's size and total length, read at one point in time.
Scores are computed in Python exactly as the engine computes them; the rest of the filter then
selects among the scored rows.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from memstack.filters import And, Comparison, FilterNode
from memstack.keyword_index import TOKENIZERS
from memstack.models import SCOPE_FIELDS

TEXT_FIELD = "text"
# Dimension 0 is never a term: every row holds its token count + 1 there (so no row's vector
# is empty, which Milvus refuses). Terms map to 1 .. 2**32 - 2 (Milvus' sparse indices are
# uint32 below 2**32 - 1).
LENGTH_DIM = 0
DIMS = 2**32 - 2


def tokenizer(name: str) -> Callable[[str], list[str]]:
    """The engine's tokenizer of that name (`search.tokenizer`)."""
    return TOKENIZERS[name]


def term_dim(term: str) -> int:
    """The sparse dimension of a term: a stable 32-bit hash (never `LENGTH_DIM`)."""
    digest = hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % DIMS + 1


def document_vector(payload: Mapping[str, Any], tokenize: Callable[[str], list[str]]
                    ) -> dict[int, float]:
    """The sparse vector of a payload's text, tokenised as the engine does
    (`str(payload.get("text", ""))`): term frequencies, and the token count + 1 on dimension 0."""
    counts = Counter(tokenize(str(payload.get(TEXT_FIELD, ""))))
    vector: dict[int, float] = defaultdict(float)
    for term, tf in counts.items():
        vector[term_dim(term)] += float(tf)
    vector[LENGTH_DIM] = float(sum(counts.values()) + 1)
    return dict(vector)


def length_of(weight: float) -> int:
    """A row's token count from its weight on dimension 0."""
    return round(weight) - 1


def query_dims(text: str, tokenize: Callable[[str], list[str]]) -> list[int]:
    """The distinct dimensions of a query's terms, in the order the engine visits the terms
    (`set(tokenize(text))`), so each score is summed in the same order: equal scores stay
    bitwise equal, and ties break by id as the engine's do (summed in another order, two
    records of the same score can differ in the last bit: 1 of 997 LoCoMo questions)."""
    return list(dict.fromkeys(term_dim(t) for t in set(tokenize(text))))


def is_scope_only(filters: FilterNode | None) -> bool:
    """True when the filter is nothing but scope equalities (what `scope_key` takes): the
    scope's rows are then exactly the rows it matches, with no further check."""
    children = filters.children if isinstance(filters, And) else (filters,)
    return all(isinstance(c, Comparison) and c.field in SCOPE_FIELDS and c.op == "eq"
               and isinstance(c.value, str) for c in children if c is not None)


def bm25(postings: Mapping[int, Mapping[str, float]], lengths: Mapping[str, int], n: int,
         total: float, *, k1: float, b: float) -> dict[str, float]:
    """pk → score, as `memstack.keyword_index.KeywordIndex.search` computes it: `postings` maps
    each query dimension to {pk: tf} over the scope's rows, `lengths` the token counts of those
    rows, `n` and `total` the scope's size and total length."""
    if not n:
        return {}
    avg = total / n or 1.0
    scores: dict[str, float] = defaultdict(float)
    for posting in postings.values():
        df = len(posting)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for pk, tf in posting.items():
            norm = tf + k1 * (1 - b + b * lengths[pk] / avg)
            scores[pk] += idf * tf * (k1 + 1) / norm
    return scores
