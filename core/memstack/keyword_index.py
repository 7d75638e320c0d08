"""A BM25 keyword index the engine keeps in step with the vector store (hybrid search).

Built from the store when `Memory` opens and updated after every committed write, so it holds
exactly the store's records. Filters use the reference evaluator on the same payloads the store
holds, so keyword hits obey scope and filters with the one semantics. Hits are re-read from the
store before they are returned (see `ranking.fuse`): a record deleted by another process never
comes back through this index.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from memstack.filters import FilterNode, matches
from memstack.models import Record
from memstack.protocols import VectorStore

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves s t d ll m re ve
""".split())


def _stem(token: str) -> str:
    """A light suffix stripper: plural and common verb endings (went→went, dogs→dog)."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith("ss"):
                return token
            return token[: len(token) - len(suffix)] + keep
    return token


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


class KeywordIndex:
    """Okapi BM25 over memory texts, with payloads kept for filter evaluation."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75, text_field: str = "text") -> None:
        self.k1, self.b, self.text_field = k1, b, text_field
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._postings: dict[str, dict[str, int]] = defaultdict(dict)
            self._lengths: dict[str, int] = {}
            self._payloads: dict[str, dict[str, Any]] = {}
            self._total = 0

    def __len__(self) -> int:
        return len(self._lengths)

    def ids(self) -> set[str]:
        return set(self._lengths)

    def _remove(self, rid: str) -> None:
        payload = self._payloads.pop(rid, None)
        if payload is None:
            return
        for tok in set(tokenize(str(payload.get(self.text_field, "")))):
            posting = self._postings.get(tok)
            if posting is not None:
                posting.pop(rid, None)
                if not posting:
                    del self._postings[tok]
        self._total -= self._lengths.pop(rid)

    def apply(self, upserts: Sequence[Record], deletes: Sequence[str]) -> None:
        with self._lock:
            for rid in deletes:
                self._remove(rid)
            for r in upserts:
                self._remove(r.id)
                tokens = tokenize(str(r.payload.get(self.text_field, "")))
                for tok, tf in Counter(tokens).items():
                    self._postings[tok][r.id] = tf
                self._lengths[r.id] = len(tokens)
                self._payloads[r.id] = dict(r.payload)
                self._total += len(tokens)

    def sync(self, store: VectorStore, page: int = 1000) -> None:
        """Rebuild from the store (the source of truth)."""
        records: list[Record] = []
        offset = 0
        while True:
            batch = store.list(limit=page, offset=offset)
            records.extend(batch)
            if len(batch) < page:
                break
            offset += page
        with self._lock:
            self.reset()
            self.apply(records, [])

    def search(self, query: str, *, limit: int,
               filters: FilterNode | None = None) -> list[tuple[str, float]]:
        """(id, BM25 score) best first, for records matching `filters`."""
        terms = set(tokenize(query))
        with self._lock:
            n = len(self._lengths)
            if not n or not terms:
                return []
            avg = self._total / n or 1.0
            scores: dict[str, float] = defaultdict(float)
            for term in terms:
                posting = self._postings.get(term)
                if not posting:
                    continue
                idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
                for rid, tf in posting.items():
                    norm = tf + self.k1 * (1 - self.b + self.b * self._lengths[rid] / avg)
                    scores[rid] += idf * tf * (self.k1 + 1) / norm
            ranked = sorted(scores.items(), key=lambda p: (-p[1], p[0]))
            out = []
            for rid, score in ranked:
                if matches(filters, self._payloads[rid]):
                    out.append((rid, score))
                    if len(out) >= limit:
                        break
            return out


def open_keyword_index(store: VectorStore, config: Any) -> KeywordIndex:
    """The keyword index for `store` (built and synced by `Memory`)."""
    return KeywordIndex()
