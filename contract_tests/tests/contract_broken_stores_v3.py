"""Broken stores of contract versions 3 and 4, each with one bug of the kind real integrations
ship.

Not collected on its own: `test_contract_meta_broken_v3.py` runs it in a subprocess (the new
groups only, to keep it fast) and asserts that each store FAILS the tests that catch its bug,
while the correct ones (`IndexedListStore`, `KeywordListStore`, `SqliteStore`, and the quantized
store that says so) pass.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import struct
import threading
import time
import unicodedata
from typing import Any

import pytest
from contract_broken_stores import ALL, ListStore, _copy, _factory

from memstack import capabilities as caps
from memstack.filters import matches
from memstack.filters.tree import And, Not, Or
from memstack.models import Hit, Record
from memstack.vectors import check_vector
from memstack_contract import VectorStoreContract
from memstack_contract.reasons import QUANTIZED


# ---- contract version 3: one class of bug each -------------------------------------------------
class TakesLimitThenFilters(ListStore):
    """Takes the `limit` nearest records, then filters them (the missing over-fetch loop)."""

    def query(self, vector, *, limit, filters=None):
        nearest = super().query(vector, limit=limit)
        return [h for h in nearest if matches(filters, h.payload)]


class LimitPlusOneWhenFiltered(ListStore):
    """Returns one hit too many when a filter is given."""

    def query(self, vector, *, limit, filters=None):
        return super().query(vector, limit=limit + (1 if filters else 0), filters=filters)


class RawDotWhenFiltered(ListStore):
    """With a filter, scores are raw inner products (another code path, another scale)."""

    def query(self, vector, *, limit, filters=None):
        hits = super().query(vector, limit=limit, filters=filters)
        if filters is None:
            return hits
        vecs = {i: v for i, v, _ in self.rows.values()}
        return [Hit(id=h.id, score=sum(a * b for a, b in zip(vecs[h.id], vector, strict=True)),
                    payload=h.payload) for h in hits]


class IndexedListStore(ListStore):
    """Filters through a separate index of payloads (as backends with secondary indexes do).
    Its bulk load block changes nothing, which is correct."""

    capabilities = ALL | {caps.INSERT, caps.BULK_LOAD}

    @contextlib.contextmanager
    def bulk_load(self):
        yield

    def __init__(self, config):
        super().__init__(config)
        self.index: dict[str, dict[str, Any]] = {}

    def write(self, rid, vec, payload):
        super().write(rid, vec, payload)
        self.index_row(rid, payload)

    def index_row(self, rid, payload):
        self.index[rid] = payload

    def keep_row(self, rid, payload):
        return rid in self.index and matches(self._node, self.index[rid])

    def query(self, vector, *, limit, filters=None):
        self.check_filter(filters)
        q = check_vector(vector, self.dimension, self.name)
        with self.lock:
            hits = [Hit(id=i, score=self.score(v, q), payload=_copy(p))
                    for i, v, p in self.rows.values()
                    if filters is None or (i in self.index and matches(filters, self.index[i]))]
        return self.order(hits)[:limit]

    def list(self, *, filters=None, limit=None, offset=0):
        self.check_filter(filters)
        with self.lock:
            rows = [(i, p) for i, _, p in self.rows.values()
                    if filters is None or (i in self.index and matches(filters, self.index[i]))]
        end = None if limit is None else offset + limit
        return [Record(id=i, payload=_copy(p)) for i, p in rows[offset:end]]

    def count(self, filters=None):
        return len(self.list(filters=filters))

    def insert(self, records):
        self.upsert(records)

    def delete(self, ids):
        super().delete(ids)
        for i in ids:
            self.index.pop(i, None)

    def reset(self):
        super().reset()
        self.index = {}


class BulkLoadIndexesOnlyOnSuccess(IndexedListStore):
    """Version 4: leaves its index alone inside a bulk load and brings it up to date when the
    block ends normally, but not when it ends by an error (no try/finally)."""

    def __init__(self, config):
        super().__init__(config)
        self.deferred = 0

    def index_row(self, rid, payload):
        if not self.deferred:
            super().index_row(rid, payload)

    @contextlib.contextmanager
    def bulk_load(self):
        self.deferred += 1
        yield
        self.deferred -= 1
        for rid, (_, _, payload) in list(self.rows.items()):
            self.index_row(rid, payload)


class StaleIndexOnReplace(IndexedListStore):
    """The filter index keeps the first payload an id was written with."""

    def index_row(self, rid, payload):
        self.index.setdefault(rid, payload)


class InsertSkipsIndex(IndexedListStore):
    """`insert` writes the rows but forgets the filter index (found by id, never by scope)."""

    def insert(self, records):
        for r in records:
            ListStore.write(self, r.id, check_vector(r.vector or [], self.dimension, self.name),
                            _copy(r.payload))


class WritesPartOfABatch(ListStore):
    """Checks and writes record by record: [good, bad, good] leaves the first one written."""

    def upsert(self, records):
        for r in records:
            vec = check_vector(r.vector or [], self.dimension, self.name)
            with self.lock:
                self.write(r.id, vec, self.store_payload(r.payload))


class RacyWrites(ListStore):
    """Copy-on-write without a lock: concurrent writers lose each other's records."""

    def upsert(self, records):
        prepared = [(r.id, check_vector(r.vector or [], self.dimension, self.name),
                     self.store_payload(r.payload)) for r in records]
        rows = dict(self.rows)
        time.sleep(0)  # any I/O here hands the GIL to another writer
        for rid, vec, payload in prepared:
            rows.pop(rid, None)
            rows[rid] = (rid, vec, payload)
        self.rows = rows


class Float32Numbers(ListStore):
    """Compares numbers in filters as float32 (16777217 == 16777216 there)."""

    def keep(self, node, payload):
        return matches(_map_node(node, _f32), {k: _f32(v) for k, v in payload.items()})


class FoldsUnicode(ListStore):
    """Normalises strings (NFKC) before comparing: 'é' NFC == NFD, 'ﬁ' == 'fi', '１２' == '12'."""

    def keep(self, node, payload):
        return matches(_map_node(node, _nfkc), {k: _nfkc(v) for k, v in payload.items()})


class CaseInsensitiveIds(ListStore):
    """Keys rows by a folded id (lower case, stripped)."""

    def write(self, rid, vec, payload):
        self.rows[rid.strip().lower()] = (rid, vec, payload)

    def get(self, ids, *, with_vectors=False):
        with self.lock:
            found = {k: (i, v, p) for k, (i, v, p) in self.rows.items()}
        out = []
        for i in ids:
            row = found.get(i.strip().lower())
            if row:
                out.append(Record(id=i, vector=list(row[1]) if with_vectors else None,
                                  payload=_copy(row[2])))
        return out

    def delete(self, ids):
        with self.lock:
            for i in ids:
                self.rows.pop(i.strip().lower(), None)


class FirstOfRepeatedIdWins(ListStore):
    """An id repeated in one batch keeps its first record (a dedupe that keeps the wrong one)."""

    def upsert(self, records):
        seen: dict[str, Record] = {}
        for r in records:
            seen.setdefault(r.id, r)
        super().upsert(list(seen.values()))


class NaNForZeroVectors(ListStore):
    """Divides by the norm without looking: a zero vector scores NaN."""

    def score(self, a, b):
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        return dot / norms if norms else math.nan


class LimitZeroMeansAll(ListStore):
    """Treats limit=0 as 'no limit'."""

    def query(self, vector, *, limit, filters=None):
        return super().query(vector, limit=limit or 10**9, filters=filters)

    def list(self, *, filters=None, limit=None, offset=0):
        return super().list(filters=filters, limit=limit or None, offset=offset)


class GetPayloadsInStoredOrder(ListStore):
    """Returns ids in the order asked, but payloads and vectors in the order stored."""

    def get(self, ids, *, with_vectors=False):
        wanted = set(ids)
        with self.lock:
            stored = [(i, v, p) for i, v, p in self.rows.values() if i in wanted]
        order = [i for i in ids if i in {s[0] for s in stored}]
        return [Record(id=rid, vector=list(v) if with_vectors else None, payload=_copy(p))
                for rid, (_, v, p) in zip(order, stored, strict=True)]


class KeepsBFloat16(ListStore):
    """Keeps vectors as bfloat16 (7 bits of mantissa) without declaring it."""

    def upsert(self, records):
        super().upsert([Record(id=r.id, vector=[_bf16(x) for x in r.vector or []],
                               payload=r.payload) if r.vector and
                        len(r.vector) == self.dimension and all(map(math.isfinite, r.vector))
                        else r for r in records])


class KeepsBFloat16AndSaysSo(KeepsBFloat16):
    """The same store, honest about it: approximate scores by design, no `exact_search`."""

    capabilities = (ALL - {caps.EXACT_SEARCH}) | {QUANTIZED}


class MisspeltCapability(ListStore):
    capabilities = ALL | {"persistant"}


class KeywordListStore(IndexedListStore):
    """A correct store with every optional capability the suite can test in-process:
    keyword search (token overlap), query_ids and insert."""

    capabilities = ALL | {caps.INSERT, caps.QUERY_IDS, caps.KEYWORD_SEARCH}

    def query_ids(self, vector, *, limit, filters=None):
        return [(h.id, h.score) for h in self.query(vector, limit=limit, filters=filters)]

    def keyword_query(self, text, *, limit, filters=None):
        self.check_filter(filters)
        words = set(text.lower().split())
        with self.lock:
            rows = [(i, p) for i, _, p in self.rows.values() if matches(filters, p)]
        hits = []
        for i, p in rows:
            tokens = str(p.get("text", "")).lower().split()
            score = float(sum(1 for t in tokens if t in words))
            if score > 0:
                hits.append(Hit(id=i, score=score / len(tokens), payload=_copy(p)))
        return sorted(hits, key=lambda h: (-h.score, h.id))[:limit]


def _f32(v):
    if isinstance(v, list | tuple):
        return type(v)(_f32(x) for x in v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return struct.unpack("f", struct.pack("f", float(v)))[0]
    return v


def _nfkc(v):
    if isinstance(v, list | tuple):
        return type(v)(_nfkc(x) for x in v)
    return unicodedata.normalize("NFKC", v) if isinstance(v, str) else v


def _bf16(x: float) -> float:
    bits = struct.unpack("I", struct.pack("f", x))[0] & 0xFFFF0000
    return struct.unpack("f", struct.pack("I", bits))[0]


def _map_node(node, fn):
    from memstack.filters.tree import Comparison

    if node is None:
        return None
    if isinstance(node, Comparison):
        return Comparison(node.field, node.op, fn(node.value))
    if isinstance(node, And | Or):
        return type(node)(tuple(_map_node(c, fn) for c in node.children))
    if isinstance(node, Not):
        return Not(_map_node(node.child, fn))
    return node


# ---- a store on SQLite: persistent, several processes, collections in one file -----------------
class SqliteStore(ListStore):
    """A correct persistent store: one SQLite file, a table per collection, a busy timeout."""

    capabilities = ALL | {caps.PERSISTENT, caps.MULTIPROCESS}
    busy_timeout = 30.0

    def __init__(self, config):  # no super().__init__: rows live in SQL, not in a dict
        self.dimension = config["dimension"]
        self.lock = threading.RLock()
        self.table = self.table_for(config["collection"])
        self.db = sqlite3.connect(config["path"], timeout=self.busy_timeout,
                                  check_same_thread=False, isolation_level=None)
        self.db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (id TEXT PRIMARY KEY, "
                        "seq INTEGER, vec TEXT, payload TEXT)")

    def table_for(self, collection):
        return f"t_{collection}"

    def _rows(self):
        with self.lock:
            rows = self.db.execute(f"SELECT id, vec, payload FROM {self.table} ORDER BY seq")
            return {i: (i, json.loads(v), self.load_payload(p)) for i, v, p in rows.fetchall()}

    def load_payload(self, text):
        return json.loads(text)

    def dump_payload(self, payload):
        return json.dumps(payload)

    @property
    def rows(self):
        return self._rows()

    @rows.setter
    def rows(self, value):
        if value:
            raise AssertionError("rows are written through SQL")
        with self.lock:
            self.db.execute(f"DELETE FROM {self.table}")

    def upsert(self, records):
        prepared = [(r.id, check_vector(r.vector or [], self.dimension, self.name),
                     self.dump_payload(r.payload)) for r in records]
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for rid, vec, payload in prepared:
                    self.db.execute(
                        f"INSERT OR REPLACE INTO {self.table} VALUES (?, "
                        f"(SELECT coalesce(max(seq), 0) + 1 FROM {self.table}), ?, ?)",
                        (rid, json.dumps(vec), payload))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def delete(self, ids):
        with self.lock:
            self.db.executemany(f"DELETE FROM {self.table} WHERE id = ?", [(i,) for i in ids])

    def reset(self):
        with self.lock:
            self.db.execute(f"DELETE FROM {self.table}")

    def close(self):
        self.db.close()


class SqliteNoBusyTimeout(SqliteStore):
    """No busy timeout: a second writer gets 'database is locked' instead of waiting."""

    busy_timeout = 0.0


class SqliteSharesOneTable(SqliteStore):
    """Ignores the collection name: every collection lands in one table."""

    def table_for(self, collection):
        return "t_all"


class SqliteDeletesNotDurable(SqliteStore):
    """Deletes are remembered in memory only: they come back after a reopen."""

    def __init__(self, config):
        super().__init__(config)
        self.deleted: set[str] = set()

    def _rows(self):
        return {k: v for k, v in super()._rows().items() if k not in self.deleted}

    def delete(self, ids):
        self.deleted.update(ids)

    def upsert(self, records):
        super().upsert(records)
        self.deleted.difference_update(r.id for r in records)


class SqliteLosesTypesOnReopen(SqliteStore):
    """Numbers and booleans are written as floats; a cache hides it until the store reopens."""

    def __init__(self, config):
        super().__init__(config)
        self.cache: dict[str, dict[str, Any]] = {}

    def dump_payload(self, payload):
        def lossy(v):
            if isinstance(v, list):
                return [lossy(x) for x in v]
            return float(v) if isinstance(v, int | float) else v

        return json.dumps({k: lossy(v) for k, v in payload.items()})

    def upsert(self, records):
        super().upsert(records)
        self.cache.update({r.id: _copy(r.payload) for r in records})

    def _rows(self):
        rows = super()._rows()
        return {k: (i, v, self.cache.get(k, p)) for k, (i, v, p) in rows.items()}


class TestTakesLimitThenFilters(VectorStoreContract):
    provider_factory = _factory(TakesLimitThenFilters)


class TestLimitPlusOneWhenFiltered(VectorStoreContract):
    provider_factory = _factory(LimitPlusOneWhenFiltered)


class TestRawDotWhenFiltered(VectorStoreContract):
    provider_factory = _factory(RawDotWhenFiltered)


class TestIndexedListStore(VectorStoreContract):
    provider_factory = _factory(IndexedListStore)


class TestBulkLoadIndexesOnlyOnSuccess(VectorStoreContract):
    provider_factory = _factory(BulkLoadIndexesOnlyOnSuccess)


class TestStaleIndexOnReplace(VectorStoreContract):
    provider_factory = _factory(StaleIndexOnReplace)


class TestInsertSkipsIndex(VectorStoreContract):
    provider_factory = _factory(InsertSkipsIndex)


class TestWritesPartOfABatch(VectorStoreContract):
    provider_factory = _factory(WritesPartOfABatch)


class TestRacyWrites(VectorStoreContract):
    provider_factory = _factory(RacyWrites)


class TestFloat32Numbers(VectorStoreContract):
    provider_factory = _factory(Float32Numbers)


class TestFoldsUnicode(VectorStoreContract):
    provider_factory = _factory(FoldsUnicode)


class TestCaseInsensitiveIds(VectorStoreContract):
    provider_factory = _factory(CaseInsensitiveIds)


class TestFirstOfRepeatedIdWins(VectorStoreContract):
    provider_factory = _factory(FirstOfRepeatedIdWins)


class TestNaNForZeroVectors(VectorStoreContract):
    provider_factory = _factory(NaNForZeroVectors)


class TestLimitZeroMeansAll(VectorStoreContract):
    provider_factory = _factory(LimitZeroMeansAll)


class TestGetPayloadsInStoredOrder(VectorStoreContract):
    provider_factory = _factory(GetPayloadsInStoredOrder)


class TestKeepsBFloat16(VectorStoreContract):
    provider_factory = _factory(KeepsBFloat16)


class TestKeepsBFloat16AndSaysSo(VectorStoreContract):
    provider_factory = _factory(KeepsBFloat16AndSaysSo)


class TestMisspeltCapability(VectorStoreContract):
    provider_factory = _factory(MisspeltCapability)


class TestKeywordListStore(VectorStoreContract):
    provider_factory = _factory(KeywordListStore)


def _sqlite_config():
    @pytest.fixture
    def provider_config(self, tmp_path):
        return {"path": str(tmp_path / "store.sqlite")}

    return provider_config


class TestSqliteStore(VectorStoreContract):
    provider_factory = _factory(SqliteStore)
    provider_config = _sqlite_config()


class TestSqliteNoBusyTimeout(VectorStoreContract):
    provider_factory = _factory(SqliteNoBusyTimeout)
    provider_config = _sqlite_config()


class TestSqliteSharesOneTable(VectorStoreContract):
    provider_factory = _factory(SqliteSharesOneTable)
    provider_config = _sqlite_config()


class TestSqliteDeletesNotDurable(VectorStoreContract):
    provider_factory = _factory(SqliteDeletesNotDurable)
    provider_config = _sqlite_config()


class TestSqliteLosesTypesOnReopen(VectorStoreContract):
    provider_factory = _factory(SqliteLosesTypesOnReopen)
    provider_config = _sqlite_config()
