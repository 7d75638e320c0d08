"""The keyword side of hybrid search: a BM25 index the engine keeps in step with the vector store.

Built from the store when `Memory` opens and updated after every committed write, so it holds
exactly the store's records. Filters use the reference evaluator on the same payloads the store
holds, so keyword hits obey scope and filters with the one semantics. Hits are re-read from the
store before they are returned (see `ranking.fuse`): a record deleted by another process never
comes back through this index. A store that declares `keyword_search` ranks with its own
full-text search instead (`StoreKeywordSearch`), and nothing is kept in the engine.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from memstack.capabilities import KEYWORD_SEARCH
from memstack.filters import FilterNode, matches
from memstack.models import Record
from memstack.protocols import KeywordSearch, VectorStore

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
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))


def stem(token: str) -> str:
    """A light English suffix stripper, so inflections meet: dance, dances, danced, dancing →
    danc; hobbies → hobby. Stems keep at least three letters; a final 'e' goes from four on."""
    for suffix, keep in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if not (suffix == "s" and token.endswith("ss")):
                token = token[: len(token) - len(suffix)] + keep
            break
    if len(token) >= 4 and token.endswith("e"):
        token = token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """English tokens: lowercase words and numbers, stop words removed, light stemming."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


def tokenize_simple(text: str) -> list[str]:
    """Lowercase words and numbers, nothing removed or changed: for any language."""
    return _TOKEN.findall(text.lower())


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "english": tokenize, "simple": tokenize_simple}


class KeywordIndex:
    """Okapi BM25 over memory texts, with payloads kept for filter evaluation.

    Term statistics (document frequency, average length) are over the whole collection, as a
    search engine's are; only the hits are limited to the scope and filters.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.4, text_field: str = "text",
                 tokenizer: str = "english") -> None:
        self.k1, self.b, self.text_field = k1, b, text_field
        self.tokenize = TOKENIZERS[tokenizer]
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
        with self._lock:
            return set(self._lengths)

    def texts(self) -> dict[str, str]:
        """id → indexed text (for consistency checks)."""
        with self._lock:
            return {rid: str(p.get(self.text_field, "")) for rid, p in self._payloads.items()}

    def _remove(self, rid: str) -> None:
        payload = self._payloads.pop(rid, None)
        if payload is None:
            return
        for tok in set(self.tokenize(str(payload.get(self.text_field, "")))):
            posting = self._postings.get(tok)
            if posting is not None:
                posting.pop(rid, None)
                if not posting:
                    del self._postings[tok]
        self._total -= self._lengths.pop(rid)

    def apply(self, upserts: Sequence[Record], deletes: Sequence[str]) -> None:
        """Mirror one committed write: deletes first, then upserts (which replace)."""
        with self._lock:
            for rid in deletes:
                self._remove(rid)
            for r in upserts:
                self._remove(r.id)
                tokens = self.tokenize(str(r.payload.get(self.text_field, "")))
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
        """(id, BM25 score) best first (ties by id), for records matching `filters`."""
        terms = set(self.tokenize(query))
        with self._lock:
            n = len(self._lengths)
            if not n or not terms or limit < 1:
                return []
            avg = self._total / n or 1.0
            allowed: dict[str, bool] = {}
            scores: dict[str, float] = defaultdict(float)
            for term in terms:
                posting = self._postings.get(term)
                if not posting:
                    continue
                idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
                for rid, tf in posting.items():
                    ok = allowed.get(rid)
                    if ok is None:
                        ok = allowed[rid] = matches(filters, self._payloads[rid])
                    if not ok:
                        continue
                    norm = tf + self.k1 * (1 - self.b + self.b * self._lengths[rid] / avg)
                    scores[rid] += idf * tf * (self.k1 + 1) / norm
            ranked = sorted(scores.items(), key=lambda p: (-p[1], p[0]))
            return ranked[:limit]


class StoreKeywordSearch:
    """The keyword ranking of a store with its own full-text search (`keyword_search`): the
    engine keeps no index, so there is nothing to mirror."""

    def __init__(self, store: KeywordSearch) -> None:
        self.store = store

    def apply(self, upserts: Sequence[Record], deletes: Sequence[str]) -> None:
        """The store indexes its own writes."""

    def sync(self, store: VectorStore, page: int = 1000) -> None:
        """Nothing to rebuild."""

    def reset(self) -> None:
        """The store's reset clears its own index."""

    def search(self, query: str, *, limit: int,
               filters: FilterNode | None = None) -> list[tuple[str, float]]:
        return [(h.id, h.score) for h in self.store.keyword_query(query, limit=limit,
                                                                   filters=filters)]


def open_keyword_index(store: VectorStore, config: Any) -> KeywordIndex | StoreKeywordSearch:
    """The keyword ranking for `store`: its own full-text search when it declares
    `keyword_search`, else a core BM25 index (built and synced by `Memory`)."""
    if KEYWORD_SEARCH in getattr(store, "capabilities", ()) and isinstance(store, KeywordSearch):
        return StoreKeywordSearch(store)
    search = config.search
    return KeywordIndex(k1=search.bm25_k1, b=search.bm25_b, tokenizer=search.tokenizer)
