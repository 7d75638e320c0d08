"""`memory`: the in-memory reference vector store — exact cosine search, reference filter semantics.

Pure Python, no dependency. It is what the contract suite compares every other store against in
spirit, and a handy store for tests and short-lived processes.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Sequence

from memstack import capabilities as caps
from memstack.errors import InvalidInput
from memstack.filters import FilterNode, matches, require_support
from memstack.models import Hit, Record
from memstack.spec import VectorStoreConfig
from memstack.vectors import check_vector

CAPABILITIES = caps.ALL_FILTER_CAPS | {caps.EXACT_SEARCH, caps.QUERY_IDS, caps.INSERT}


class MemoryStoreConfig(VectorStoreConfig):
    """No settings beyond the collection name and dimension."""


def _unit(v: Sequence[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v] if n else list(v)


class InMemoryVectorStore:
    name = "memory"
    capabilities = frozenset(CAPABILITIES)

    def __init__(self, config: MemoryStoreConfig) -> None:
        if config.dimension is None:
            raise InvalidInput("memory: 'dimension' is required")
        self.dimension = config.dimension
        self.collection = config.collection
        self._rows: dict[str, tuple[list[float], list[float], dict]] = {}
        self._lock = threading.RLock()

    def upsert(self, records: Sequence[Record]) -> None:
        prepared = []
        for r in records:
            if r.vector is None:
                raise InvalidInput(f"memory: record {r.id!r} has no vector")
            vec = check_vector(r.vector, self.dimension, self.name)
            prepared.append((r.id, vec, _unit(vec), copy.deepcopy(r.payload)))
        with self._lock:
            for rid, vec, unit, payload in prepared:
                self._rows.pop(rid, None)  # re-insert: a replaced record moves to the end
                self._rows[rid] = (vec, unit, payload)

    def insert(self, records: Sequence[Record]) -> None:
        """New ids need nothing upsert does not do here."""
        self.upsert(records)

    def query(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        return [Hit(id=rid, score=score, payload=copy.deepcopy(p))
                for rid, score, p in self._ranked(vector, limit, filters)]

    def query_ids(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[tuple[str, float]]:
        return [(rid, score) for rid, score, _ in self._ranked(vector, limit, filters)]

    def _ranked(self, vector: Sequence[float], limit: int,
                filters: FilterNode | None) -> list[tuple[str, float, dict]]:
        require_support(self.name, filters, self.capabilities)
        q = _unit(check_vector(vector, self.dimension, self.name))
        with self._lock:
            rows = list(self._rows.items())
        scored = [(rid, sum(a * b for a, b in zip(q, unit, strict=True)), p)
                  for rid, (_, unit, p) in rows if matches(filters, p)]
        scored.sort(key=lambda h: (-h[1], h[0]))
        return scored[:max(limit, 0)]

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        with self._lock:
            found = [(i, self._rows[i]) for i in dict.fromkeys(ids) if i in self._rows]
        return [
            Record(id=i, vector=list(v) if with_vectors else None, payload=copy.deepcopy(p))
            for i, (v, _, p) in found
        ]

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            for i in ids:
                self._rows.pop(i, None)

    def list(
        self, *, filters: FilterNode | None = None, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        require_support(self.name, filters, self.capabilities)
        with self._lock:
            rows = [(i, p) for i, (_, _, p) in self._rows.items() if matches(filters, p)]
        end = None if limit is None else offset + limit
        return [Record(id=i, payload=copy.deepcopy(p)) for i, p in rows[offset:end]]

    def count(self, filters: FilterNode | None = None) -> int:
        require_support(self.name, filters, self.capabilities)
        with self._lock:
            return sum(1 for _, _, p in self._rows.values() if matches(filters, p))

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()

    def close(self) -> None:
        """Nothing to release; data lives as long as the object."""
