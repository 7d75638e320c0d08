"""`milvus`: a memstack vector store on Milvus — a server, Zilliz Cloud, or Milvus Lite in a file.

Layout and filter semantics are described in `encoding` and `expr`, keyword search in
`keyword`. Read-your-writes: the
collection is created with, and every read asks for, consistency level Strong, so each write is
visible to the next query/get/list/count without a flush (flushes are rate-limited on servers and
only seal segments). A collection that is not loaded (after a restart, or one opened by another
client) is loaded when the store opens it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from memstack.errors import DimensionMismatch, InvalidInput, StoreError, translate_errors
from memstack.filters import FilterNode, matches, require_support
from memstack.keyword_index import scope_key
from memstack.models import Hit, HybridHits, Record
from memstack.vectors import check_vector
from memstack_milvus import keyword
from memstack_milvus.capabilities import for_collection
from memstack_milvus.config import MilvusStoreConfig
from memstack_milvus.connection import open_client, release, scrub, write_lock
from memstack_milvus.encoding import (
    LONG_ID_PREFIX,
    MAX_CHUNKS,
    PROVIDER,
    VARCHAR_MAX,
    check_index_size,
    decode_doc,
    encode_doc,
    id_of,
    index_json_size,
    index_payload,
    pk_of,
)
from memstack_milvus.expr import INDEX_FIELD, Translator, exists, key

PK, VECTOR, DOC = "pk", "vector", "doc"
KW = "kw"  # the row's term frequencies and token count, a sparse vector: see `keyword`
SCHEMA_MARK = "memstack-milvus record layout v2"
LAYOUT_V1 = frozenset({PK, VECTOR, DOC, INDEX_FIELD})  # collections made before keyword search
LAYOUT = LAYOUT_V1 | {KW}
TOKENIZER_PROPERTY = "memstack.keyword_tokenizer"  # collection property: the tokens in `kw`
STRONG = "Strong"
MAX_TOPK = 16_384  # Milvus' limit on hits per search and rows per query window
SPARSE_TOPK = MAX_TOPK  # rows asked per query term; a posting reaching it is read by a scan
LEGACY_REASON = (
    "collection {name!r} was created before keyword search (no 'kw' field; Milvus Lite "
    "cannot add fields to a collection): keyword_search is off for it, so hybrid search uses the "
    "engine's own BM25 index. Nothing is lost; to move it, copy its records into a new collection."
)

log = logging.getLogger(__name__)
# Rows written to each Lite collection since this process last flushed it (see `_written`).
_unflushed: dict[tuple[str, str, str], int] = {}

T = TypeVar("T")


class MilvusVectorStore:
    """One Milvus collection of records of one dimension (see the module docstring)."""

    name = PROVIDER

    def __init__(self, config: MilvusStoreConfig) -> None:
        if config.dimension is None:
            raise InvalidInput(f"{PROVIDER}: 'dimension' is required")
        self.config = config
        self.dimension = config.dimension
        self.collection = config.collection
        self._write_lock = write_lock(config)
        self._closed = False
        self._tokenize = keyword.tokenizer(config.keyword_tokenizer)
        self.keyword_fields = True  # the collection has `kw` (set by _check_schema)
        self.keyword_off_reason: str | None = None
        self._client = open_client(config)
        try:
            index_type = self._open_collection()
        except BaseException:
            self.close()
            raise
        self._set_index_type(index_type)

    def _set_index_type(self, index_type: str) -> None:
        """Record the collection's index, and so what this instance can promise."""
        self.index_type = index_type
        if not self.keyword_fields:
            self.keyword_off_reason = LEGACY_REASON.format(name=self.collection)
        elif not self.config.keyword_side:
            self.keyword_off_reason = (
                "the config turns keyword_search off" if self.config.keyword_search is False
                else "keyword_search is off by default on Milvus Lite (one process per file; the "
                "engine's index ranks alike, faster); set keyword_search: true to turn it on")
        else:
            self.keyword_off_reason = None
        self.capabilities = for_collection(index_type, lite=self.config.is_lite,
                                           keyword=self.keyword_off_reason is None)

    # --- plumbing ----------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call; library errors become `StoreError` naming the provider."""
        if self._closed:
            raise StoreError(PROVIDER, f"{what}: the store is closed")
        where = f"collection {self.collection!r} at {self.config.display_uri()}"
        with translate_errors(PROVIDER, what, where, scrub=lambda t: scrub(t, self.config)):
            return fn(*args, **kwargs)

    def _open_collection(self) -> str:
        """Create the collection when missing, check it, index and load it; its index type."""
        c = self._client
        if not self._call("has_collection", c.has_collection, self.collection):
            try:
                self._create_collection()
            except StoreError:
                if not self._call("has_collection", c.has_collection, self.collection):
                    raise  # not a lost race with another creator: a real failure
        properties = self._check_schema()
        index_type = self._index_type()
        missing_kw = self.keyword_fields and not self._call(
            "list_indexes", c.list_indexes, self.collection, field_name=KW)
        if index_type is None or missing_kw:  # new, or its creator stopped before indexing it
            self._create_index(vector=index_type is None, sparse=missing_kw)
            index_type = self._index_type() or self.config.resolved_index_type
        state = self._call("get_load_state", c.get_load_state, self.collection).get("state")
        if getattr(state, "name", str(state)) != "Loaded":  # e.g. after a restart
            self._call("load_collection", c.load_collection, self.collection)
        if not self.keyword_fields:
            if self.config.keyword_side:
                log.warning("memstack-milvus: %s", LEGACY_REASON.format(name=self.collection))
        elif properties.get(TOKENIZER_PROPERTY) != self.config.keyword_tokenizer:
            # another tokenizer's terms (or a creator that stopped before recording it)
            self._retokenize()
        return index_type

    def _create_collection(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(
            auto_id=False, enable_dynamic_field=False, description=SCHEMA_MARK
        )
        schema.add_field(PK, DataType.VARCHAR, is_primary=True, max_length=VARCHAR_MAX)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field(DOC, DataType.ARRAY, element_type=DataType.VARCHAR,
                         max_capacity=MAX_CHUNKS, max_length=VARCHAR_MAX)
        schema.add_field(INDEX_FIELD, DataType.JSON)
        schema.add_field(KW, DataType.SPARSE_FLOAT_VECTOR)
        self._call("create_collection", self._client.create_collection, self.collection,
                   schema=schema, consistency_level=STRONG)
        self._set_tokenizer_property()

    def _set_tokenizer_property(self) -> None:
        self._call("alter_collection_properties", self._client.alter_collection_properties,
                   self.collection, properties={TOKENIZER_PROPERTY: self.config.keyword_tokenizer})

    def _create_index(self, vector: bool = True, sparse: bool = True) -> None:
        index = self._client.prepare_index_params()
        if vector:
            index.add_index(field_name=VECTOR, index_type=self.config.resolved_index_type,
                            metric_type="COSINE", params=dict(self.config.index_params))
        if sparse and self.keyword_fields:
            # inner product with a unit query vector on one term's dimension = its frequency
            index.add_index(field_name=KW, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        # Only ever done on an empty collection, where the index is built at once: no need for
        # pymilvus to poll its state (it sleeps 0.5 s per poll).
        self._call("create_index", self._client.create_index, self.collection, index,
                   sync=False)

    def _check_schema(self) -> dict[str, Any]:
        """Check the collection is memstack's (this layout, or the one before keyword search)
        and of this dimension; its properties."""
        info = self._call("describe_collection", self._client.describe_collection,
                          self.collection)
        fields = {f.get("name"): f for f in info.get("fields", [])}
        if set(fields) not in (LAYOUT, LAYOUT_V1) or not fields[PK].get("is_primary"):
            raise StoreError(
                PROVIDER,
                f"collection {self.collection!r} at {self.config.display_uri()} exists with "
                f"fields {sorted(fields)}, not the layout memstack-milvus writes "
                f"({sorted(LAYOUT)})",
                hint="choose another collection name, or drop that collection",
            )
        dim = int(fields[VECTOR].get("params", {}).get("dim", 0))
        if dim != self.dimension:
            raise DimensionMismatch(PROVIDER, dim, self.dimension)
        self.keyword_fields = set(fields) == LAYOUT
        return dict(info.get("properties") or {})

    def _retokenize(self) -> None:
        """Rewrite every row's terms with this config's tokenizer (the one the engine's queries
        are tokenised with), then record it. Idempotent: a run cut short is redone on the next
        open, as the property still names the old tokenizer."""
        with self._write_lock:
            for pks in self._pk_pages(""):
                for start in range(0, len(pks), self.config.page_size):
                    rows = self._fetch(pks[start : start + self.config.page_size],
                                       with_vectors=True, extra=[INDEX_FIELD])
                    for row in rows:
                        payload = decode_doc(list(row[DOC]))[1]
                        row[KW] = keyword.document_vector(payload, self._tokenize)
                        row[VECTOR] = [float(x) for x in row[VECTOR]]
                        row[DOC] = list(row[DOC])
                    if rows:
                        self._call("upsert", self._client.upsert, self.collection, rows)
            self._set_tokenizer_property()

    def _index_type(self) -> str | None:
        """The vector index's type ('' when it cannot be described), None when there is none."""
        names = self._call("list_indexes", self._client.list_indexes, self.collection,
                           field_name=VECTOR)
        if not names:
            return None
        try:
            info = self._client.describe_index(self.collection, index_name=names[0])
            return str(info.get("index_type", "")).upper()
        except Exception:  # an index we cannot describe is simply not known to be exact
            return ""

    def _expr(self, node: FilterNode | None) -> str:
        require_support(PROVIDER, node, self.capabilities)
        return Translator(self._resolve_long).build(node)

    def _resolve_long(self, field: str, prefix_hex: str) -> list[str]:
        """Full values of `field` in records whose long string starts with the given prefix."""
        k = key("p_", field)
        expr = f'({exists("p_", field)} and {k} == "{prefix_hex}")'
        values = []
        for pks in self._pk_pages(expr):
            for row in self._fetch(pks):
                value = decode_doc(row[DOC])[1].get(field)
                if isinstance(value, str):
                    values.append(value)
        return values

    def _pk_page(self, expr: str, after: str | None, limit: int,
                 fields: Sequence[str] = ()) -> list[dict]:
        """Up to `limit` rows (pk and `fields`) matching `expr` with pk > `after`, in pk order."""
        cursor = f'{PK} > "{after}"' if after is not None else ""
        combined = f"{cursor} and ({expr})" if cursor and expr else (cursor or expr)
        rows = self._call(
            "query", self._client.query, self.collection, filter=combined,
            output_fields=[PK, *fields], limit=limit, consistency_level=STRONG,
            # what pymilvus' QueryIterator sends: the server returns rows in primary-key order
            iterator="True",
        )
        pks = [r[PK] for r in rows]
        if any(b <= a for a, b in zip([after or "", *pks], pks, strict=False)):
            raise StoreError(
                PROVIDER, "the server returned rows out of primary-key order; list() pages "
                "cannot be made stable on this Milvus version",
            )
        return list(rows)

    def _row_pages(self, expr: str, fields: Sequence[str] = ()) -> Iterator[list[dict]]:
        """Every row (pk and `fields`) matching `expr`, in pk order, a query window at a time.

        Pages are cut by primary key (``pk > last``), not by offset, so they neither repeat nor
        skip rows and are not bound by Milvus' 16,384-row offset + limit window.
        """
        after = None
        while True:
            rows = self._pk_page(expr, after, MAX_TOPK, fields)
            if rows:
                yield rows
            if len(rows) < MAX_TOPK:
                return
            after = rows[-1][PK]

    def _pk_pages(self, expr: str) -> Iterator[list[str]]:
        """The primary keys of every row matching `expr`, in pk order (see `_row_pages`)."""
        for rows in self._row_pages(expr):
            yield [r[PK] for r in rows]

    def _fetch(self, pks: Sequence[str], with_vectors: bool = False,
               extra: Sequence[str] = ()) -> list[dict]:
        """The rows of these primary keys (those that exist), in the order given."""
        fields = [PK, DOC, *([VECTOR] if with_vectors else []), *extra]
        found: dict[str, dict] = {}
        for start in range(0, len(pks), self.config.page_size):
            batch = pks[start : start + self.config.page_size]
            rows = self._call(
                "get", self._client.query, self.collection, filter=_pk_in(batch),
                output_fields=fields, consistency_level=STRONG,
            )
            found.update((row[PK], row) for row in rows)
        return [found[pk] for pk in pks if pk in found]

    def _written(self, rows: int) -> None:
        """Count rows written (under the write lock); on Milvus Lite, flush every
        `lite_flush_rows`. Lite keeps unflushed rows in a memtable that every search converts
        and scans in Python (a sparse search rebuilds its index over them), while flushed
        segments keep their indexes: on 3,000 rows written 10 at a time (a scope of 600), a
        keyword query took 278 ms unflushed and 187 ms flushed every 500 rows, a vector query
        58 and 27 ms (a busy 2-core machine). Servers flush on their own."""
        limit = self.config.lite_flush_rows
        if not self.config.is_lite or limit <= 0 or rows <= 0:
            return
        where = (self.config.display_uri(), self.config.db_name, self.collection)
        _unflushed[where] = _unflushed.get(where, 0) + rows
        if _unflushed[where] >= limit:
            self._call("flush", self._client.flush, self.collection)
            _unflushed[where] = 0

    @staticmethod
    def _record(row: dict, with_vector: bool = False) -> Record:
        record_id, payload = decode_doc(list(row[DOC]))
        vector = [float(x) for x in row[VECTOR]] if with_vector else None
        return Record(id=record_id, vector=vector, payload=payload)

    # --- VectorStore -------------------------------------------------------------------------
    def upsert(self, records: Sequence[Record]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        sizes: dict[str, int] = {}
        for r in records:
            if r.vector is None:
                raise InvalidInput(f"{PROVIDER}: record {r.id!r} has no vector")
            pk = pk_of(r.id)
            vector = check_vector(r.vector, self.dimension, PROVIDER)
            doc = encode_doc(r.id, r.payload)
            index = index_payload(r.payload)
            check_index_size(r.id, index, self.config.max_index_bytes)
            rows.pop(pk, None)  # the last write of an id in one call wins
            rows[pk] = {PK: pk, VECTOR: vector, DOC: doc, INDEX_FIELD: index}
            sizes[pk] = (len(pk) + 4 * self.dimension + index_json_size(index) + 64
                         + sum(len(chunk.encode("utf-8")) for chunk in doc))
            if self.keyword_fields:
                rows[pk][KW] = terms = keyword.document_vector(r.payload, self._tokenize)
                sizes[pk] += 8 * len(terms)
        batches: list[list[dict[str, Any]]] = [[]]
        used = 0
        for pk, row in rows.items():
            full = len(batches[-1]) >= self.config.batch_size
            if batches[-1] and (full or used + sizes[pk] > self.config.batch_bytes):
                batches.append([])
                used = 0
            batches[-1].append(row)
            used += sizes[pk]
        with self._write_lock:
            for batch in batches:
                if batch:
                    self._call("upsert", self._client.upsert, self.collection, batch)
            self._written(len(rows))

    def query(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        hits = []
        for hit in self._nearest(vector, limit, filters, [DOC]):
            record_id, payload = decode_doc(list(hit["entity"][DOC]))
            hits.append(Hit(id=record_id, score=_score(hit), payload=payload))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits

    def query_ids(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[tuple[str, float]]:
        """`query` returning primary keys only: a pk is the id in hex, except for ids too
        long for it, whose id is read from their row."""
        found = self._nearest(vector, limit, filters, [])
        long = [hit[PK] for hit in found if hit[PK].startswith(LONG_ID_PREFIX)]
        ids = {row[PK]: decode_doc(list(row[DOC]))[0] for row in self._fetch(long)}
        pairs = [(ids[hit[PK]] if hit[PK] in ids else id_of(hit[PK]), _score(hit))
                 for hit in found
                 if not hit[PK].startswith(LONG_ID_PREFIX) or hit[PK] in ids]
        pairs.sort(key=lambda h: (-h[1], h[0]))
        return pairs

    def _nearest(self, vector: Sequence[float], limit: int, filters: FilterNode | None,
                 fields: list[str]) -> list[Any]:
        expr = self._expr(filters)
        vec = check_vector(vector, self.dimension, PROVIDER)
        if limit <= 0:
            return []
        topk = min(limit, MAX_TOPK)
        params: dict[str, Any] = dict(self.config.search_params)
        if self.index_type == "HNSW":
            params["ef"] = max(int(params.get("ef", 0)), topk)
        result = self._call(
            "search", self._client.search, self.collection, data=[vec], anns_field=VECTOR,
            limit=topk, filter=expr, output_fields=fields, consistency_level=STRONG,
            search_params={"metric_type": "COSINE", "params": params},
        )
        return list(result[0]) if result else []

    # --- keyword search (see `keyword`) --------------------------------------------------------
    def keyword_query(
        self, text: str, *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        """The engine's BM25 of `text` over the scope of `filters`, best first (ties by id);
        the rest of the filter selects among the scored rows."""
        return [hit for hit, _ in self._keyword(text, limit, filters, with_vectors=False)]

    def hybrid_query(
        self, vector: Sequence[float], text: str, *, limit: int, keyword_limit: int,
        filters: FilterNode | None = None,
    ) -> HybridHits:
        """`query` and `keyword_query`, plus the cosine similarity of each keyword hit, read
        with the keyword hits' payloads (so the engine reads nothing back to fuse the lists).
        Milvus has no read transactions: the calls see each write as it lands."""
        q = check_vector(vector, self.dimension, PROVIDER)
        vector_hits = self.query(q, limit=limit, filters=filters) if limit > 0 else []
        found = self._keyword(text, keyword_limit, filters, with_vectors=True)
        return HybridHits(vector=vector_hits, keyword=[hit for hit, _ in found],
                          similarity={hit.id: _cosine(q, vec) for hit, vec in found})

    def _require_keyword(self) -> None:
        if self.keyword_off_reason is not None:
            raise StoreError(PROVIDER, f"keyword search is not available: "
                                       f"{self.keyword_off_reason}")

    def _keyword(self, text: str, limit: int, filters: FilterNode | None,
                 with_vectors: bool) -> list[tuple[Hit, list[float]]]:
        self._require_keyword()
        self._expr(filters)  # refuses what every other read refuses
        dims = keyword.query_dims(text, self._tokenize)
        if not dims or limit < 1:
            return []
        scope_expr = self._expr(scope_key(filters)[1])
        lengths, postings = self._postings(dims, scope_expr)
        scores = keyword.bm25(postings, lengths, len(lengths), sum(lengths.values()),
                              k1=self.config.bm25_k1, b=self.config.bm25_b)
        ids = self._ids_of(list(scores))
        ranked = sorted((pk for pk in scores if pk in ids), key=lambda pk: (-scores[pk], ids[pk]))
        check = not keyword.is_scope_only(filters)
        out: list[tuple[Hit, list[float]]] = []
        start, size = 0, limit if not check else max(2 * limit, 32)
        while start < len(ranked) and len(out) < limit:
            # best first, in batches (usually one): payloads are read for the hits anyway, and
            # the rest of the filter is checked on them with the engine's own evaluator (the
            # semantics the filter translation is tested to equal), in the process: Milvus Lite
            # would evaluate a filter over every row of the collection
            batch = ranked[start : start + min(size, self.config.page_size)]
            start += len(batch)
            size *= 4
            for row in self._fetch(batch, with_vectors=with_vectors):
                record_id, payload = decode_doc(list(row[DOC]))
                if check and not matches(filters, payload):
                    continue
                vec = [float(x) for x in row[VECTOR]] if with_vectors else []
                out.append((Hit(id=record_id, score=scores[row[PK]], payload=payload), vec))
        return out[:limit]

    def _postings(self, dims: list[int], scope_expr: str
                  ) -> tuple[dict[str, int], dict[int, dict[str, float]]]:
        """The scope's rows → token count, and dim → {pk: term frequency} over them: one
        batched sparse search (see `keyword`), so both are read at one point in time. When a
        result fills the search limit (a scope or posting of more than `SPARSE_TOPK` rows), the
        scope's vectors are read page by page instead."""
        result = self._call(
            "keyword search", self._client.search, self.collection,
            data=[{keyword.LENGTH_DIM: 1.0}, *({dim: 1.0} for dim in dims)], anns_field=KW,
            limit=SPARSE_TOPK, filter=scope_expr, output_fields=[], consistency_level=STRONG,
            search_params={"metric_type": "IP", "params": {}},
        )
        found = [list(hits) for hits in result]
        if all(len(hits) < SPARSE_TOPK for hits in found):
            lengths = {hit[PK]: keyword.length_of(hit["distance"]) for hit in found[0]}
            postings = {dim: {hit[PK]: float(hit["distance"]) for hit in hits}
                        for dim, hits in zip(dims, found[1:], strict=True)}
            return lengths, postings
        lengths, postings = {}, {dim: {} for dim in dims}
        for rows in self._row_pages(scope_expr, [KW]):
            for row in rows:
                terms = row[KW]
                lengths[row[PK]] = keyword.length_of(terms[keyword.LENGTH_DIM])
                for dim in dims:
                    if dim in terms:
                        postings[dim][row[PK]] = float(terms[dim])
        return lengths, postings

    def _ids_of(self, pks: Sequence[str]) -> dict[str, str]:
        """pk → record id: decoded from the pk, or read for the rare hashed (long) ids."""
        ids = {pk: id_of(pk) for pk in pks if not pk.startswith(LONG_ID_PREFIX)}
        long = [pk for pk in pks if pk.startswith(LONG_ID_PREFIX)]
        ids.update((row[PK], decode_doc(list(row[DOC]))[0]) for row in self._fetch(long))
        return ids

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        pks = [pk_of(i) for i in dict.fromkeys(ids) if isinstance(i, str) and i]
        return [self._record(row, with_vectors) for row in self._fetch(pks, with_vectors)]

    def delete(self, ids: Sequence[str]) -> None:
        pks = list(dict.fromkeys(pk_of(i) for i in ids if isinstance(i, str) and i))
        with self._write_lock:
            for start in range(0, len(pks), 1000):
                self._call("delete", self._client.delete, self.collection,
                           filter=_pk_in(pks[start : start + 1000]))
            self._written(len(pks))

    def list(
        self, *, filters: FilterNode | None = None, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        """Records in primary-key order (the ids' code-point order; see `encoding`)."""
        expr = self._expr(filters)
        if limit is not None and limit <= 0:
            return []
        skip, left = max(0, offset), math.inf if limit is None else limit
        out: list[Record] = []
        for pks in self._pk_pages(expr):  # keys only, then the records of the wanted slice
            if left <= 0:
                break
            if skip >= len(pks):
                skip -= len(pks)
                continue
            wanted = pks[skip : skip + int(min(left, len(pks)))]
            skip = 0
            out += [self._record(row) for row in self._fetch(wanted)]
            left -= len(wanted)
        return out

    def count(self, filters: FilterNode | None = None) -> int:
        expr = self._expr(filters)
        rows = self._call("count", self._client.query, self.collection, filter=expr,
                          output_fields=["count(*)"], consistency_level=STRONG)
        return int(rows[0]["count(*)"]) if rows else 0

    def reset(self) -> None:
        """Drop the collection and create it afresh, indexed as this config says."""
        with self._write_lock:
            self._call("drop_collection", self._client.drop_collection, self.collection)
            self.keyword_fields = True  # a new collection has the current layout
            self._create_collection()
            self._create_index()
            self._call("load_collection", self._client.load_collection, self.collection)
            self._set_index_type(self._index_type() or self.config.resolved_index_type)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            release(self.config, self._client)
        except Exception as exc:
            raise StoreError(PROVIDER, f"close failed: {type(exc).__name__}: {exc}") from exc

    def __repr__(self) -> str:
        return (f"MilvusVectorStore(uri={self.config.display_uri()!r}, "
                f"collection={self.collection!r}, dimension={self.dimension})")


def _pk_in(pks: Sequence[str]) -> str:
    """`pk in [...]`; pks are hex digits (or '~' + hex), so quoting them is safe."""
    return f"{PK} in [" + ", ".join(f'"{pk}"' for pk in pks) + "]"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of a query and a stored vector (0 for a zero vector)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return max(-1.0, min(1.0, dot / norm)) if norm else 0.0


def _score(hit: Any) -> float:
    return max(-1.0, min(1.0, float(hit["distance"])))  # float32 can overshoot ±1
