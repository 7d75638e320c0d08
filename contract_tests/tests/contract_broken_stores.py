"""Deliberately broken vector stores, each with one classic bug, run through the contract suite.

Not collected on its own (no `test_` prefix): `test_contract_meta_broken.py` runs this file in a
subprocess and asserts that every broken store FAILS the specific tests that catch its bug, while
the correct `ListStore` (their common base) and the eventually-consistent lagging store pass.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from memstack import capabilities as caps
from memstack.filters import FilterNode, Or, matches, require_support
from memstack.filters.tree import And, Not
from memstack.models import Hit, Record
from memstack.vectors import check_vector
from memstack_contract import EVENTUALLY_CONSISTENT, VectorStoreContract

ALL = frozenset(caps.ALL_FILTER_CAPS | {caps.EXACT_SEARCH})


class ListStore:
    """A small correct store: a list of rows, brute-force cosine, reference filters."""

    name = "list-store"
    capabilities = ALL

    def __init__(self, config: dict[str, Any]) -> None:
        self.dimension = config["dimension"]
        self.rows: dict[Any, tuple[str, list[float], dict[str, Any]]] = {}
        self.lock = threading.RLock()

    # hooks the broken variants change
    def store_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        return _copy(payload)

    def check_filter(self, node: FilterNode | None) -> None:
        require_support(self.name, node, self.capabilities)

    def keep(self, node: FilterNode | None, payload: dict[str, Any]) -> bool:
        return matches(node, payload)

    def score(self, a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        return dot / norms if norms else 0.0

    def order(self, hits: list[Hit]) -> list[Hit]:
        return sorted(hits, key=lambda h: (-h.score, h.id))

    def write(self, rid: str, vec: list[float], payload: dict[str, Any]) -> None:
        self.rows.pop(rid, None)
        self.rows[rid] = (rid, vec, payload)

    # the protocol
    def upsert(self, records: list[Record]) -> None:
        prepared = [(r.id, check_vector(r.vector or [], self.dimension, self.name),
                     self.store_payload(r.payload)) for r in records]
        with self.lock:
            for row in prepared:
                self.write(*row)

    def query(self, vector, *, limit, filters=None):
        self.check_filter(filters)
        q = check_vector(vector, self.dimension, self.name)
        with self.lock:
            hits = [Hit(id=i, score=self.score(v, q), payload=_copy(p))
                    for i, v, p in self.rows.values() if self.keep(filters, p)]
        return self.order(hits)[:limit]

    def get(self, ids, *, with_vectors=False):
        with self.lock:
            found = {i: (v, p) for i, v, p in self.rows.values()}
        return [Record(id=i, vector=list(found[i][0]) if with_vectors else None,
                       payload=_copy(found[i][1])) for i in ids if i in found]

    def delete(self, ids):
        with self.lock:
            gone = set(ids)
            self.rows = {k: r for k, r in self.rows.items() if r[0] not in gone}

    def list(self, *, filters=None, limit=None, offset=0):
        self.check_filter(filters)
        with self.lock:
            rows = [(i, p) for i, _, p in self.rows.values() if self.keep(filters, p)]
        end = None if limit is None else offset + limit
        return [Record(id=i, payload=_copy(p)) for i, p in rows[offset:end]]

    def count(self, filters=None):
        self.check_filter(filters)
        with self.lock:
            return sum(1 for _, _, p in self.rows.values() if self.keep(filters, p))

    def reset(self):
        with self.lock:
            self.rows = {}

    def close(self):
        pass


def _copy(payload: dict[str, Any]) -> dict[str, Any]:
    """Payloads are flat (scalars and lists of scalars): a cheap copy is a deep copy."""
    return {k: list(v) if isinstance(v, list) else v for k, v in payload.items()}


class IgnoresFilters(ListStore):
    """Declares every filter operator, then ignores the filter."""

    def keep(self, node, payload):
        return True


class ReturnsDistances(ListStore):
    """Ranks correctly but reports cosine *distance* as the score."""

    def score(self, a, b):
        return 1.0 - super().score(a, b)

    def order(self, hits):
        return sorted(hits, key=lambda h: (h.score, h.id))


class AppendsOnUpsert(ListStore):
    """Upserting an existing id adds a second row instead of replacing the first."""

    def write(self, rid, vec, payload):
        self.rows[object()] = (rid, vec, payload)


class StringifiesInts(ListStore):
    """Stores integers as strings (as a backend without an integer type might)."""

    def store_payload(self, payload):
        def fix(v):
            if isinstance(v, list):
                return [fix(x) for x in v]
            return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

        return {k: fix(v) for k, v in payload.items()}


class LosesWritesUntilLaterCall(ListStore):
    """A write only shows up two calls later (a lazy flush), without saying so."""

    def __init__(self, config):
        super().__init__(config)
        self.pending: list[tuple[str, Any]] = []
        self.calls_since_write = 0

    def _tick(self):
        with self.lock:  # the lag is the bug under test, not a race
            if self.pending and self.calls_since_write >= 1:
                for op, arg in self.pending:
                    if op == "upsert":
                        ListStore.upsert(self, arg)
                    else:
                        ListStore.delete(self, arg)
                self.pending = []
            self.calls_since_write += 1

    def upsert(self, records):
        for r in records:
            check_vector(r.vector or [], self.dimension, self.name)
        with self.lock:
            self.pending.append(("upsert", list(records)))
            self.calls_since_write = 0

    def delete(self, ids):
        with self.lock:
            self.pending.append(("delete", list(ids)))
            self.calls_since_write = 0

    def query(self, vector, **kw):
        self._tick()
        return super().query(vector, **kw)

    def get(self, ids, **kw):
        self._tick()
        return super().get(ids, **kw)

    def list(self, **kw):
        self._tick()
        return super().list(**kw)

    def count(self, filters=None):
        self._tick()
        return super().count(filters)

    def reset(self):
        self.pending = []
        super().reset()


class LagsButSaysSo(LosesWritesUntilLaterCall):
    """The same lag, declared: the suite must wait for it (bounded) and pass."""

    capabilities = ALL | {EVENTUALLY_CONSISTENT}


class DropsUndeclaredOr(ListStore):
    """Does not declare filter:or, and silently treats OR as 'match everything'."""

    capabilities = ALL - {caps.FILTER_OR}

    def check_filter(self, node):
        pass  # the bug: no require_support, so nothing says OR is not translated

    def keep(self, node, payload):
        return matches(_drop_or(node), payload)


def _drop_or(node):
    if isinstance(node, Or):
        return None
    if isinstance(node, And):
        kept = tuple(c for c in (_drop_or(c) for c in node.children) if c is not None)
        return And(kept) if len(kept) > 1 else (kept[0] if kept else None)
    if isinstance(node, Not):
        child = _drop_or(node.child)
        return None if child is None else Not(child)
    return node


def _factory(cls):
    @pytest.fixture
    def provider_factory(self):
        return cls

    return provider_factory


class TestListStore(VectorStoreContract):
    provider_factory = _factory(ListStore)


class TestIgnoresFilters(VectorStoreContract):
    provider_factory = _factory(IgnoresFilters)


class TestReturnsDistances(VectorStoreContract):
    provider_factory = _factory(ReturnsDistances)


class TestAppendsOnUpsert(VectorStoreContract):
    provider_factory = _factory(AppendsOnUpsert)


class TestStringifiesInts(VectorStoreContract):
    provider_factory = _factory(StringifiesInts)


class TestLosesWritesUntilLaterCall(VectorStoreContract):
    provider_factory = _factory(LosesWritesUntilLaterCall)


class TestLagsButSaysSo(VectorStoreContract):
    provider_factory = _factory(LagsButSaysSo)
    consistency_timeout = 5.0


class TestDropsUndeclaredOr(VectorStoreContract):
    provider_factory = _factory(DropsUndeclaredOr)
