"""The keyword side of hybrid search: a BM25 index the engine keeps in step with the vector store.

Read from the store scope by scope, the first time a scope is searched, and updated after every
committed write, so each loaded scope holds exactly the store's records of that scope. Filters
use the reference evaluator on the same payloads the store holds, so keyword hits obey scope and
filters with the one semantics. Hits are re-read from the store before they are returned (see
`memstack.search`), and what that read shows is taken in (`refresh`): a record deleted by
another process never comes back through this index. A store that declares `keyword_search`
ranks with its own full-text search instead (`StoreKeywordSearch`), and nothing is kept in the
engine. The vectors of keyword-only hits are kept apart, in `memstack.vector_cache`.
"""

from __future__ import annotations

import heapq
import math
import re
import sys
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from itertools import combinations
from typing import Any

from memstack.capabilities import KEYWORD_SEARCH
from memstack.filters import And, Comparison, FilterNode, matches
from memstack.models import SCOPE_FIELDS, Record
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


ScopeKey = tuple[tuple[str, str], ...]
# Memory bound of the in-process index, in entries (one per record, one per distinct term of a
# record): ~140 bytes of RSS an entry with real memory payloads (LoCoMo turns, ~14 entries a
# memory; benchmarks/keyword_memory.py), so ~100 MB. The `search.keyword_index_budget` default.
DEFAULT_BUDGET = 750_000
# What an empty loaded scope costs, in entries (its dicts and key: ~640 bytes, measured so).
PARTITION_ENTRIES = 5


def scope_key(filters: FilterNode | None) -> tuple[ScopeKey, FilterNode | None]:
    """The scope equalities a filter requires (top-level ``field eq "value"`` on user_id,
    agent_id, run_id), as a partition key and as the filter that loads that partition. Every
    record the filter matches is in the partition; `Memory` always puts its scope there."""
    children = filters.children if isinstance(filters, And) else (filters,)
    found = sorted({(c.field, c.value) for c in children
                    if isinstance(c, Comparison) and c.field in SCOPE_FIELDS and c.op == "eq"
                    and isinstance(c.value, str)})
    node = And(tuple(Comparison(f, "eq", v) for f, v in found)) if found else None
    return tuple(found), node


def _only_scope(filters: FilterNode | None) -> bool:
    children = filters.children if isinstance(filters, And) else (filters,)
    return all(isinstance(c, Comparison) and c.field in SCOPE_FIELDS and c.op == "eq"
               and isinstance(c.value, str) for c in children if c is not None)


def _keys_of(payload: dict[str, Any]) -> list[ScopeKey]:
    """Every partition key a record belongs to: the subsets of its scope ids."""
    pairs = [(f, payload[f]) for f in SCOPE_FIELDS if isinstance(payload.get(f), str)]
    return [tuple(sorted(c)) for n in range(len(pairs) + 1) for c in combinations(pairs, n)]


def _held(payload: dict[str, Any]) -> dict[str, Any]:
    """The copy of a payload the index keeps, its keys interned (shared by every record)."""
    return {sys.intern(k) if type(k) is str else k: v for k, v in payload.items()}


class _Partition:
    """BM25 postings and statistics of the records of one scope. `size` counts its entries:
    one per record and one per distinct term of each record (a posting), what the index's
    `budget` is spent on. A term of one record only (most terms of a scope) is posted as an
    (id, tf) pair rather than a dict: a third of the size. A record's terms are not kept:
    `terms_of` (the index's tokenizer) reads them again from its payload when it is removed."""

    def __init__(self, terms_of: Callable[[dict[str, Any]], Counter[str]]) -> None:
        self.terms_of = terms_of
        self.postings: dict[str, tuple[str, int] | dict[str, int]] = {}
        self.lengths: dict[str, int] = {}
        self.payloads: dict[str, dict[str, Any]] = {}
        self.total = 0
        self.size = 0

    def add(self, rid: str, counts: Counter[str], payload: dict[str, Any]) -> int:
        """Index one record (replacing a copy held, say a store paging twice over it);
        returns the change in entries."""
        freed = self.remove(rid)
        postings = self.postings
        for tok, tf in counts.items():
            posting = postings.get(tok)
            if posting is None:
                postings[tok] = (rid, tf)
            elif type(posting) is tuple:
                postings[tok] = {posting[0]: posting[1], rid: tf}
            else:
                posting[rid] = tf
        length = sum(counts.values())
        self.lengths[rid] = length
        self.payloads[rid] = payload
        self.total += length
        self.size += 1 + len(counts)
        return 1 + len(counts) - freed

    def remove(self, rid: str) -> int:
        """Forget one record; returns the entries freed."""
        if rid not in self.lengths:
            return 0
        terms = self.terms_of(self.payloads[rid])
        postings = self.postings
        for tok in terms:
            posting = postings.get(tok)
            if type(posting) is tuple:
                if posting[0] == rid:
                    del postings[tok]
            elif posting is not None:
                posting.pop(rid, None)
                if len(posting) == 1:  # back to the pair
                    postings[tok] = next(iter(posting.items()))
                elif not posting:
                    del postings[tok]
        self.total -= self.lengths.pop(rid)
        del self.payloads[rid]
        self.size -= 1 + len(terms)
        return 1 + len(terms)


class KeywordIndex:
    """Okapi BM25 over memory texts, with payloads kept for filter evaluation.

    Attached to a store (`sync`), the index is partitioned by scope and each partition is read
    from the store the first time its scope is searched: opening `Memory` costs nothing, a
    search costs what its scope holds (not the whole collection), and term statistics are the
    scope's own. Every committed write is applied to the partitions already loaded. Without a
    store, one partition holds every record applied (handy for tests and tools).

    Memory is bounded by `budget`, in entries (`held`): one per record, one per distinct term
    of a record, `PARTITION_ENTRIES` per loaded scope. Past it the least recently searched
    scopes are dropped (read again from the store when next searched); a scope larger than the
    whole budget is read for each search and not kept, so results never depend on what is
    held. `max_partitions`, when set, also bounds the number of scopes held.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.4, text_field: str = "text",
                 tokenizer: str = "english", max_partitions: int | None = None,
                 page: int = 1000, budget: int | None = DEFAULT_BUDGET) -> None:
        self.k1, self.b, self.text_field = k1, b, text_field
        self.tokenize = TOKENIZERS[tokenizer]
        self.max_partitions, self.page, self.budget = max_partitions, page, budget
        self._lock = threading.RLock()
        self._store: VectorStore | None = None
        self.reset()

    def reset(self) -> None:
        """Forget everything (the store is read again when a scope is next searched)."""
        with self._lock:
            self._parts: OrderedDict[ScopeKey, _Partition] = OrderedDict()
            # id → the loaded scopes holding it (a tuple: 48 bytes where a set takes 216)
            self._where: dict[str, tuple[ScopeKey, ...]] = {}
            self._held = 0
            if self._store is None:
                self._parts[()] = _Partition(self._counts)

    def sync(self, store: VectorStore, page: int | None = None) -> None:
        """Attach to `store`, the source of truth; partitions load from it when needed."""
        with self._lock:
            self._store = store
            self.page = page or self.page
            self.reset()

    def __len__(self) -> int:
        return len(self._where)

    @property
    def held(self) -> int:
        """Entries held across loaded scopes (what `budget` bounds)."""
        return self._held

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._where)

    def partitions(self) -> dict[ScopeKey, dict[str, str]]:
        """Loaded scope → {id: indexed text} (for consistency checks)."""
        with self._lock:
            return {key: {rid: str(p.get(self.text_field, "")) for rid, p in part.payloads.items()}
                    for key, part in self._parts.items()}

    def texts(self) -> dict[str, str]:
        """id → indexed text over every loaded partition."""
        out: dict[str, str] = {}
        for part in self.partitions().values():
            out.update(part)
        return out

    def _counts(self, payload: dict[str, Any]) -> Counter[str]:
        # interned: one string per distinct term in the process, not one per record and scope
        return Counter(map(sys.intern, self.tokenize(str(payload.get(self.text_field, "")))))

    def apply(self, upserts: Sequence[Record], deletes: Sequence[str]) -> None:
        """Mirror one committed write into the loaded partitions: deletes first, then upserts
        (which replace, and move a record if its scope changed)."""
        with self._lock:
            for rid in [*deletes, *(r.id for r in upserts)]:
                for key in self._where.pop(rid, ()):
                    part = self._parts.get(key)
                    if part is not None:
                        self._held -= part.remove(rid)
            for r in upserts:
                keys = [k for k in _keys_of(r.payload) if k in self._parts]
                if not keys:
                    continue
                counts, payload = self._counts(r.payload), _held(r.payload)
                for key in keys:
                    self._held += self._parts[key].add(r.id, counts, payload)
                self._where[r.id] = tuple(keys)
            self._shrink()

    def refresh(self, records: Sequence[Record], gone: Sequence[str]) -> None:
        """What a read of the store just showed: take in changes another process made (a
        different payload, or a record now gone)."""
        with self._lock:
            changed = []
            for r in records:
                keys = self._where.get(r.id)
                if keys and self._parts[keys[0]].payloads[r.id] != r.payload:
                    changed.append(r)
            if changed or gone:
                self.apply(changed, list(gone))

    def _partition(self, filters: FilterNode | None) -> _Partition:
        if self._store is None:
            return self._parts[()]
        key, node = scope_key(filters)
        part = self._parts.get(key)
        if part is not None:
            self._parts.move_to_end(key)
            return part
        part = _Partition(self._counts)
        offset = 0
        while True:  # under the lock: a write applied meanwhile waits, then lands here too
            batch = self._store.list(filters=node, limit=self.page, offset=offset)
            for r in batch:
                part.add(r.id, self._counts(r.payload), _held(r.payload))
            if len(batch) < self.page:
                break
            offset += self.page
        if self.budget is not None and part.size + PARTITION_ENTRIES > self.budget:
            return part  # larger than the whole budget: serves this search, is not kept
        self._parts[key] = part
        for rid in part.lengths:
            self._where[rid] = (*self._where.get(rid, ()), key)
        self._held += part.size + PARTITION_ENTRIES
        self._shrink()
        return part

    def _shrink(self) -> None:
        """Drop the least recently searched scopes until within `budget` and `max_partitions`
        (store-less, the one partition is everything: nothing to read it back from)."""
        while self._store is not None and self._parts and (
                (self.budget is not None and self._held > self.budget)
                or (self.max_partitions is not None and len(self._parts) > self.max_partitions)):
            old_key, old = self._parts.popitem(last=False)
            self._held -= old.size + PARTITION_ENTRIES
            for rid in old.lengths:
                where = tuple(k for k in self._where.pop(rid, ()) if k != old_key)
                if where:
                    self._where[rid] = where

    def search(self, query: str, *, limit: int,
               filters: FilterNode | None = None) -> list[tuple[str, float]]:
        """(id, BM25 score) best first (ties by id), for records matching `filters`."""
        terms = set(self.tokenize(query))
        if not terms or limit < 1:
            return []
        with self._lock:
            part = self._partition(filters)
            n = len(part.lengths)
            if not n:
                return []
            avg = part.total / n or 1.0
            # a store-backed partition holds exactly the scope's records: a filter that is only
            # the scope needs no per-record check
            check = self._store is None or not _only_scope(filters)
            allowed: dict[str, bool] = {}
            scores: dict[str, float] = defaultdict(float)
            for term in terms:
                posting = part.postings.get(term)
                if not posting:
                    continue
                items = (posting,) if type(posting) is tuple else posting.items()
                idf = math.log(1 + (n - len(items) + 0.5) / (len(items) + 0.5))
                for rid, tf in items:
                    if check:
                        ok = allowed.get(rid)
                        if ok is None:
                            ok = allowed[rid] = matches(filters, part.payloads[rid])
                        if not ok:
                            continue
                    norm = tf + self.k1 * (1 - self.b + self.b * part.lengths[rid] / avg)
                    scores[rid] += idf * tf * (self.k1 + 1) / norm
            # the first `limit` of the full sort (best first, ties by id), without sorting it all
            return heapq.nsmallest(limit, scores.items(), key=lambda p: (-p[1], p[0]))


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

    def refresh(self, records: Sequence[Record], gone: Sequence[str]) -> None:
        """The store's index is always current."""

    def search(self, query: str, *, limit: int,
               filters: FilterNode | None = None) -> list[tuple[str, float]]:
        return [(h.id, h.score) for h in self.store.keyword_query(query, limit=limit,
                                                                   filters=filters)]


def open_keyword_index(store: VectorStore, config: Any) -> KeywordIndex | StoreKeywordSearch:
    """The keyword ranking for `store`: its own full-text search when it declares
    `keyword_search`, else a core BM25 index (built and synced by `Memory`)."""
    if KEYWORD_SEARCH in getattr(store, "capabilities", ()) and isinstance(store, KeywordSearch):
        return StoreKeywordSearch(store)
    search = getattr(config, "search", config)  # a MemoryConfig or its SearchConfig
    return KeywordIndex(k1=search.bm25_k1, b=search.bm25_b, tokenizer=search.tokenizer,
                        budget=search.keyword_index_budget)
