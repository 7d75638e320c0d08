"""Vectors of large scopes kept in this process, checked against the file before every use.

Why: reading a scope's rows costs ~2.5 µs a row in SQLite (the row lookups and the blobs) — under
a millisecond for a scope of a hundred, but ~35 ms for the 13k memories of the largest zipf scope
at 100k, while scoring a cached float32 matrix of that size takes ~2 ms. So scopes of at least
`min_rows` rows are kept as (ids, matrix, norms), least recently used dropped past `max_bytes`.

Why it is never stale, with several processes: every write transaction takes the next value of
a per-collection generation counter and stamps it on each scope value it touched (`user_id = x`,
`agent_id = y`, ...; the old values of replaced and deleted records included) in the
`<collection>__scopes` table. A cached scope remembers the stamps of its scope values; a search
reads them (one indexed lookup each, in the same read transaction as everything else) and uses
the cache only when they are unchanged. A stamp is a generation, never reused (reset included),
so equal stamps mean no write touched the scope since it was cached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

Stamps = tuple[int | None, ...]
ScopeKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Entry:
    stamps: Stamps
    ids: list[str]
    matrix: np.ndarray  # float32, one row per record
    norms: np.ndarray  # float32 Euclidean lengths of the rows

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes + self.norms.nbytes) + 80 * len(self.ids)


class ScopeCache:
    """LRU of scope → Entry, bounded in bytes. Not thread-safe: the store holds its lock."""

    def __init__(self, max_bytes: int, min_rows: int) -> None:
        self.max_bytes, self.min_rows = max_bytes, min_rows
        self._entries: OrderedDict[ScopeKey, Entry] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: ScopeKey, stamps: Stamps) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.stamps != stamps:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: ScopeKey, entry: Entry) -> None:
        if len(entry.ids) < self.min_rows or entry.nbytes > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = entry
        self._bytes += entry.nbytes
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: ScopeKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.nbytes
