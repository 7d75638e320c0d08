"""The vectors hybrid search needs for keyword-only hits, kept between searches.

A keyword-only hit (found by BM25, not among the vector candidates) needs its stored vector to
get a cosine score. Reading it from the store on every search costs a round trip, so the engine
keeps the float32 vectors (and payloads) of such hits here, bounded (LRU, ~1.5 KB per vector at
384 dimensions) and kept current by this process's writes. The bound is a count, whatever the
number of scopes: full (20,000 vectors of 384 d, LoCoMo-sized payloads) it holds ~57 MB
(benchmarks/keyword_memory.py). What other processes change is
caught when hits are re-read before they are returned (`memstack.search`).
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from memstack.models import Record
from memstack.vectors import norm


def _held(payload: dict[str, Any]) -> dict[str, Any]:
    """The copy of a payload kept, its keys interned (one string per key name, not per entry)."""
    return {sys.intern(k) if type(k) is str else k: v for k, v in payload.items()}


def _packed(vector: Sequence[float]) -> tuple[array[float], float]:
    """float32 (what vector stores keep) and the norm of those very values."""
    packed = array("f", vector)
    return packed, norm(packed)


class VectorCache:
    """id → (payload, float32 vector, its norm), at most `max_vectors` entries."""

    def __init__(self, max_vectors: int = 20_000) -> None:
        self.max_vectors = max_vectors
        self._lock = threading.Lock()
        self._held: OrderedDict[str, tuple[dict[str, Any], array[float], float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def reset(self) -> None:
        with self._lock:
            self._held.clear()

    def cached(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], array[float], float]]:
        """The entries held for `ids` (each becomes the most recently used)."""
        out = {}
        with self._lock:
            for rid in ids:
                held = self._held.get(rid)
                if held is not None:
                    self._held.move_to_end(rid)
                    out[rid] = held
        return out

    def remember(self, records: Sequence[Record], gone: Sequence[str]) -> None:
        """What a read of the store just returned (records with vectors), and ids it lacked."""
        with self._lock:
            for rid in gone:
                self._held.pop(rid, None)
            for r in records:
                if r.vector is not None:
                    self._held[r.id] = (_held(r.payload), *_packed(r.vector))
                    self._held.move_to_end(r.id)
            while len(self._held) > self.max_vectors:
                self._held.popitem(last=False)

    def apply(self, upserts: Sequence[Record], deletes: Sequence[str]) -> None:
        """A committed write of this process: held entries follow it, nothing new is added."""
        with self._lock:
            for rid in deletes:
                self._held.pop(rid, None)
            for r in upserts:
                if r.id in self._held:
                    if r.vector is None:
                        del self._held[r.id]
                    else:
                        self._held[r.id] = (_held(r.payload), *_packed(r.vector))
