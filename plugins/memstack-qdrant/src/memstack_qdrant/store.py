"""`QdrantVectorStore`: memstack's VectorStore protocol over a Qdrant collection.

The collection is created on first use (cosine distance), so building a store never touches the
network. Writes use `wait=True` so the next read sees them. Local mode is not thread-safe, so its
calls are serialised with a lock; a server client is shared freely between threads.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client.http import models

from memstack import capabilities as caps
from memstack.errors import (
    DimensionMismatch,
    InvalidInput,
    StoreError,
    UnsupportedFeature,
    translate_errors,
)
from memstack.filters import And, Comparison, FilterNode, require_support
from memstack.keyword_index import scope_key
from memstack.models import SCOPE_FIELDS, Hit, HybridHits, Record
from memstack.vectors import check_vector, similarities
from memstack_qdrant import capabilities as qcaps
from memstack_qdrant import keyword as kw
from memstack_qdrant import payload as pl
from memstack_qdrant.clients import close_folder, open_folder
from memstack_qdrant.config import QdrantStoreConfig
from memstack_qdrant.filters import to_qdrant
from memstack_qdrant.ids import point_id

NAME = "qdrant"
_SCROLL_PAGE = 1000
# Collection metadata key: the tokenizer every point's keyword tokens were made with. Written
# when the collection is created with them, or once a backfill has tokenised every point.
KW_META = "memstack_keyword_tokenizer"
# Most distinct text lengths a scope may have (a facet bucket each); far above real texts.
_FACET_LIMIT = 100_000


class QdrantVectorStore:
    name = NAME

    def __init__(self, config: QdrantStoreConfig) -> None:
        self.config = config
        self.collection = config.collection
        self.capabilities = qcaps.for_config(config)
        self._dimension = config.dimension
        self._secret = config.api_key.get_secret_value() if config.api_key else None
        self._lock = threading.RLock()
        # local mode keeps Python state without locks of its own
        self._call_lock: contextlib.AbstractContextManager[Any] = (
            self._lock if config.mode != "server" else contextlib.nullcontext()
        )
        self._ready = False
        self._closed = False
        self._keywords = config.keyword_side
        self._tokenize = kw.tokenizer(config.keyword_tokenizer)
        with self._errors("open the client"):
            self._client = self._make_client()
        if config.mode == "path":  # the folder's stores share its client, and its lock
            self._call_lock = self._shared_lock

    # --- setup -----------------------------------------------------------------------------
    def _make_client(self) -> QdrantClient:
        c = self.config
        if c.mode == "memory":
            return QdrantClient(location=":memory:")
        if c.mode == "path":
            assert c.path is not None
            client, self._shared_lock = open_folder(c.path, self.collection)
            return client
        return QdrantClient(
            url=c.url,
            port=c.port,
            api_key=self._secret,
            prefer_grpc=c.prefer_grpc,
            grpc_port=c.grpc_port,
            timeout=c.timeout,
            check_compatibility=False,  # no request at construction time
        )

    @property
    def dimension(self) -> int:
        """The configured dimension, or (when none was given) the existing collection's.

        Only the second case touches the backend, so `isinstance(store, VectorStore)`, which
        reads this attribute, never makes a request when the engine set the dimension.
        """
        if self._dimension is None:
            self._ensure()
        assert self._dimension is not None
        return self._dimension

    def _ensure(self) -> None:
        """Create the collection if it does not exist, or check the existing one (idempotent)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if self._closed:
                raise StoreError(NAME, "the store is closed")
            with self._errors(f"open collection {self.collection!r}"):
                if self._client.collection_exists(self.collection):
                    self._adopt_existing()
                else:
                    self._create()
            self._tune_local_storage()
            self._settle_local_vectors(None)
            self._ready = True

    def _tune_local_storage(self) -> None:
        """Path mode: WAL + synchronous=NORMAL on the collection's SQLite file (see config).

        qdrant-client commits every point in its own transaction; with the default journal that
        is an fsync per point (~3-15 ms). This reaches into local-mode internals, so a client
        version without them just keeps its default: it changes speed, never results.
        """
        if self.config.mode != "path" or not self.config.fast_local_writes:
            return
        try:
            conn = self._client._client.collections[self.collection].storage.storage
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except Exception:  # performance only: keep the library default
            pass

    def _settle_local_vectors(self, pids: Sequence[str] | None) -> None:
        """Local mode: make the rows of `pids` (all rows: None, e.g. after loading a folder,
        which keeps vectors as written) fixed points of local mode's in-place normalisation,
        so a query scores the same every time (see `local_vectors`). Same stance as
        `_tune_local_storage`: internals, so a client without them keeps its behaviour."""
        if self.config.mode == "server":
            return
        try:
            from memstack_qdrant.local_vectors import settle_rows

            coll = self._client._client.collections[self.collection]
            if pids is None:
                rows: Any = slice(0, len(coll.payload))
            else:
                rows = sorted({coll.ids[p] for p in pids if p in coll.ids})
                if not rows:
                    return
            settle_rows(coll.vectors[""], rows)
        except Exception:  # results stay right either way; only their last bit may wobble
            pass

    def _adopt_existing(self) -> None:
        info = self._client.get_collection(self.collection)
        params = info.config.params.vectors
        if not isinstance(params, models.VectorParams):
            raise StoreError(
                NAME,
                f"collection {self.collection!r} uses named vectors, which this store does not "
                "write; use a collection created by memstack",
            )
        if params.distance != models.Distance.COSINE:
            raise StoreError(
                NAME,
                f"collection {self.collection!r} uses {params.distance} distance; memstack "
                "needs Cosine (scores are cosine similarities)",
                hint="use another collection name",
            )
        if self._dimension is None:
            self._dimension = params.size
        elif params.size != self._dimension:
            raise DimensionMismatch(NAME, params.size, self._dimension)
        self._ensure_indexes(set(info.payload_schema or {}))
        self._ensure_keywords(info)

    def _ensure_keywords(self, info: Any) -> None:
        """Bring an existing collection's keyword side in line with the config.

        Keyword search on: a collection from an older version (or from `keyword_search: false`)
        gets the sparse vector, then every point its tokens; a changed `keyword_tokenizer`
        re-tokenises. Only the sparse vector and `_memstack_kwlen` are written: nothing else
        changes, nothing is lost. The tokenizer is recorded in the collection's metadata last,
        so an interrupted backfill runs again on the next open. Keyword search off: writes
        carry no tokens, so the record is cleared and a later `true` backfills again.
        """
        meta = info.config.metadata or {}
        if not self._keywords:
            if meta.get(KW_META) is not None:
                self._client.update_collection(self.collection, metadata={KW_META: None})
            return
        if kw.KW_VECTOR not in (info.config.params.sparse_vectors or {}):
            self._client.create_vector_name(
                self.collection, kw.KW_VECTOR,
                models.SparseVectorNameConfig(sparse=models.SparseVectorConfig()))
        if meta.get(KW_META) != self.config.keyword_tokenizer:
            self._backfill_keywords()
            self._client.update_collection(
                self.collection, metadata={KW_META: self.config.keyword_tokenizer})

    def _backfill_keywords(self) -> None:
        """Write every memstack point's keyword tokens and token count (one scroll)."""
        cursor: Any = None
        while True:
            points, cursor = self._client.scroll(
                self.collection, limit=self.config.batch_size, offset=cursor,
                with_payload=True, with_vectors=False)
            vectors: list[models.PointVectors] = []
            by_length: dict[int, list[Any]] = {}
            for p in points:
                rid, user, _ = pl.decode(p.payload)
                if rid is None:  # not written by memstack
                    continue
                indices, values, length = kw.document_terms(user, self._tokenize)
                vectors.append(models.PointVectors(id=p.id, vector={
                    kw.KW_VECTOR: models.SparseVector(indices=indices, values=values)}))
                by_length.setdefault(length, []).append(p.id)
            if vectors:
                ops: list[Any] = [models.UpdateVectorsOperation(
                    update_vectors=models.UpdateVectors(points=vectors))]
                ops += [models.SetPayloadOperation(set_payload=models.SetPayload(
                    payload={pl.KWLEN_KEY: length}, points=ids))
                    for length, ids in by_length.items()]
                self._client.batch_update_points(self.collection, ops, wait=True)
            if cursor is None:
                return

    def _create(self) -> None:
        if self._dimension is None:
            raise InvalidInput(
                f"{NAME}: collection {self.collection!r} does not exist and no 'dimension' was "
                "given to create it"
            )
        try:
            self._client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(
                    size=self._dimension, distance=models.Distance.COSINE
                ),
                sparse_vectors_config=(
                    {kw.KW_VECTOR: models.SparseVectorParams()} if self._keywords else None),
                metadata=(
                    {KW_META: self.config.keyword_tokenizer} if self._keywords else None),
            )
        except Exception:
            # another process may have created it meanwhile; anything else re-raises
            if not self._client.collection_exists(self.collection):
                raise
            self._adopt_existing()
            return
        self._ensure_indexes(set())

    def _ensure_indexes(self, existing: set[str]) -> None:
        """Keyword indexes on the scope fields and the non-scalar key (server mode only: local
        mode has no payload indexes). Missing ones are added to an existing collection too."""
        if self.config.mode != "server":
            return
        wanted = {f: models.PayloadSchemaType.KEYWORD
                  for f in [*self.config.indexed_fields, pl.NONSCALAR_KEY]}
        if self._keywords:  # the facet that sums a scope's text lengths reads this index
            wanted[pl.KWLEN_KEY] = models.PayloadSchemaType.INTEGER
        for field, schema in wanted.items():
            if field in existing:
                continue
            self._client.create_payload_index(
                self.collection,
                field_name=field,
                field_schema=schema,
                wait=True,
            )

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Backend exceptions become StoreError naming the provider (never leaking the key)."""
        with self._call_lock, translate_errors(
            NAME, action, scrub=self._scrub, hint=self._hint
        ):
            yield

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "**********") if self._secret else text

    def _hint(self, exc: BaseException) -> str:
        if "already accessed by another instance" in str(exc):
            return ("local mode lets one client open a folder at a time; close the other "
                    "store, or run a Qdrant server for several processes")
        if self.config.mode == "server":
            return f"is the Qdrant server at {self.config.url} reachable?"
        return ""

    # --- writes ----------------------------------------------------------------------------
    def upsert(self, records: Sequence[Record]) -> None:
        self._ensure()
        dim = self.dimension
        by_id: dict[str, models.PointStruct] = {}
        for r in records:
            if not isinstance(r.id, str) or not r.id:
                raise InvalidInput(f"{NAME}: record ids must be non-empty strings, got {r.id!r}")
            if r.vector is None:
                raise InvalidInput(f"{NAME}: record {r.id!r} has no vector")
            vec = check_vector(r.vector, dim, NAME)
            norm = math.sqrt(sum(x * x for x in vec))
            by_id.pop(r.id, None)  # the last write of an id in one call wins
            vector: Any = vec
            kwlen = None
            if self._keywords:
                indices, values, kwlen = kw.document_terms(r.payload, self._tokenize)
                vector = {"": vec,
                          kw.KW_VECTOR: models.SparseVector(indices=indices, values=values)}
            by_id[r.id] = models.PointStruct(
                id=point_id(r.id), vector=vector, payload=pl.encode(r.id, r.payload, norm, kwlen)
            )
        points = list(by_id.values())
        size = self.config.batch_size
        for start in range(0, len(points), size):
            with self._errors("upsert points"):
                self._client.upsert(self.collection, points=points[start : start + size], wait=True)
                self._settle_local_vectors([str(p.id) for p in points[start : start + size]])

    def delete(self, ids: Sequence[str]) -> None:
        self._ensure()
        pids = list(dict.fromkeys(point_id(i) for i in ids))
        size = self.config.batch_size
        for start in range(0, len(pids), size):
            with self._errors("delete points"):
                self._client.delete(
                    self.collection,
                    points_selector=models.PointIdsList(points=pids[start : start + size]),
                    wait=True,
                )

    def reset(self) -> None:
        """Drop the collection; it is created again (empty) on next use."""
        with self._lock:
            if self._closed:
                raise StoreError(NAME, "the store is closed")
            with self._errors(f"drop collection {self.collection!r}"):
                self._client.delete_collection(self.collection)
            self._ready = False
            if self.config.dimension is not None:
                self._dimension = self.config.dimension

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._ready = False
            with self._errors("close the client"):
                if self.config.mode == "path" and self.config.path is not None:
                    close_folder(self.config.path, self.collection)
                else:
                    self._client.close()

    # --- reads -----------------------------------------------------------------------------
    def query(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        return _hits(self._nearest(vector, limit, filters, True))

    def query_ids(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[tuple[str, float]]:
        """`query` with only the id key of each payload."""
        pairs = []
        for p in self._nearest(vector, limit, filters, [pl.ID_KEY]):
            rid = (p.payload or {}).get(pl.ID_KEY)
            if rid is not None:
                pairs.append((rid, float(p.score)))
        pairs.sort(key=lambda h: (-h[1], h[0]))
        return pairs

    def _nearest(self, vector: Sequence[float], limit: int, filters: FilterNode | None,
                 with_payload: bool | list[str]) -> list[Any]:
        require_support(NAME, filters, self.capabilities)
        self._ensure()
        q = check_vector(vector, self.dimension, NAME)
        _check_count("limit", limit)
        if limit == 0:
            return []
        with self._errors("query"):
            res = self._client.query_points(
                self.collection,
                query=q,
                limit=limit,
                query_filter=to_qdrant(filters),
                search_params=self._search_params(),
                with_payload=with_payload,
                with_vectors=False,
            )
        return list(res.points)

    def _search_params(self) -> models.SearchParams | None:
        return models.SearchParams(exact=True) if self.config.exact else None

    # --- keyword search --------------------------------------------------------------------
    def keyword_query(
        self, text: str, *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        """The engine's BM25 ranking of the records matching `filters` (best first, ties by id),
        with the term statistics of the searched scope (see `keyword`)."""
        self._check_keywords()
        require_support(NAME, filters, self.capabilities)
        self._ensure()
        _check_count("limit", limit)
        with self._errors("keyword query"):
            ranked = self._keyword_ranking(text, limit, filters)
            if not ranked:
                return []
            points = self._client.retrieve(
                self.collection, ids=[point_id(rid) for rid, _ in ranked],
                with_payload=True, with_vectors=False)
        payloads = {rid: user for rid, user, _ in (pl.decode(p.payload) for p in points)}
        return [Hit(id=rid, score=score, payload=payloads[rid])
                for rid, score in ranked if rid in payloads]

    def hybrid_query(
        self, vector: Sequence[float], text: str, *, limit: int, keyword_limit: int,
        filters: FilterNode | None = None,
    ) -> HybridHits:
        """`query` and `keyword_query` together, with each keyword hit's cosine similarity
        (of its stored vector, read with its payload). Local mode reads everything under one
        lock, so both lists see one point in time."""
        self._check_keywords()
        require_support(NAME, filters, self.capabilities)
        self._ensure()
        q = check_vector(vector, self.dimension, NAME)
        _check_count("limit", limit)
        _check_count("keyword_limit", keyword_limit)
        out = HybridHits()
        with self._errors("hybrid query"):
            if limit > 0:
                res = self._client.query_points(
                    self.collection, query=q, limit=limit, query_filter=to_qdrant(filters),
                    search_params=self._search_params(), with_payload=True, with_vectors=False)
                out.vector = _hits(res.points)
            ranked = self._keyword_ranking(text, keyword_limit, filters)
            if ranked:
                points = self._client.retrieve(
                    self.collection, ids=[point_id(rid) for rid, _ in ranked],
                    with_payload=True, with_vectors=True)
                seen = {r.id: r for r in (_record(p, True) for p in points) if r is not None}
                out.keyword = [Hit(id=rid, score=score, payload=seen[rid].payload)
                               for rid, score in ranked if rid in seen]
                # computed as the engine computes it for a keyword hit it reads back (`get`
                # with vectors), so one call and separate calls rank alike to the last bit
                out.similarity = similarities(q, {h.id: seen[h.id].vector for h in out.keyword})
        return out

    def _check_keywords(self) -> None:
        if not self._keywords:
            raise UnsupportedFeature(NAME, [caps.KEYWORD_SEARCH],
                                     "keyword search is off for this store (keyword_search: "
                                     "false, or unset in local mode)")

    def _keyword_ranking(self, text: str, limit: int, filters: FilterNode | None
                         ) -> list[tuple[str, float]]:
        """(id, BM25 score) of the best `limit` records matching `filters`, best first.

        Up to three reads: the scope's size and total length (a facet over the token counts),
        every point of the scope holding a query term with its term frequencies (a sparse
        search; only what BM25 needs, no payloads), and -- when the filter is more than the
        scope -- which of those the whole filter selects (ids first in the filter, so local
        mode tests the rest of it on those points only).
        """
        terms = kw.query_terms(text, self._tokenize)
        if not terms or limit < 1:
            return []
        _, node = scope_key(filters)
        scope = to_qdrant(node)
        facet = self._client.facet(self.collection, pl.KWLEN_KEY, facet_filter=scope,
                                   limit=_FACET_LIMIT, exact=True)
        if len(facet.hits) >= _FACET_LIMIT:
            raise StoreError(NAME, f"a scope has more than {_FACET_LIMIT} distinct text lengths")
        n, total = kw.scope_statistics((int(h.value), h.count) for h in facet.hits)
        if not n:
            return []
        res = self._client.query_points(
            self.collection, query=models.SparseVector(indices=terms, values=[1.0] * len(terms)),
            using=kw.KW_VECTOR, query_filter=scope, limit=n,
            with_payload=[pl.ID_KEY, pl.KWLEN_KEY], with_vectors=[kw.KW_VECTOR])
        wanted = set(terms)
        postings: dict[str, tuple[dict[int, float], int]] = {}
        for p in res.points:
            payload = p.payload or {}
            rid = payload.get(pl.ID_KEY)
            sparse = (p.vector or {}).get(kw.KW_VECTOR) if isinstance(p.vector, dict) else None
            if rid is None or sparse is None:
                continue
            tfs = {i: v for i, v in zip(sparse.indices, sparse.values, strict=True)
                   if i in wanted}
            postings[rid] = (tfs, int(payload.get(pl.KWLEN_KEY, 0)))
        scores = kw.bm25(postings, terms, n, total)
        if scores and not _only_scope(filters):
            flt = to_qdrant(filters)
            assert flt is not None
            selected = models.Filter(must=[
                models.HasIdCondition(has_id=[point_id(rid) for rid in scores]), flt])
            points, _ = self._client.scroll(self.collection, scroll_filter=selected,
                                            limit=len(scores), with_payload=[pl.ID_KEY],
                                            with_vectors=False)
            allowed = {(p.payload or {}).get(pl.ID_KEY) for p in points}
            scores = {rid: s for rid, s in scores.items() if rid in allowed}
        return heapq.nsmallest(limit, scores.items(), key=lambda p: (-p[1], p[0]))

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        self._ensure()
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        found: dict[str, Record] = {}
        for start in range(0, len(wanted), _SCROLL_PAGE):
            chunk = wanted[start : start + _SCROLL_PAGE]
            with self._errors("retrieve points"):
                points = self._client.retrieve(
                    self.collection,
                    ids=[point_id(i) for i in chunk],
                    with_payload=True,
                    with_vectors=with_vectors,
                )
            for p in points:
                rec = _record(p, with_vectors)
                if rec is not None:
                    found[rec.id] = rec
        return [found[i] for i in wanted if i in found]

    def list(
        self, *, filters: FilterNode | None = None, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        """Records in point-id order (stable across calls), skipping `offset` matches."""
        require_support(NAME, filters, self.capabilities)
        self._ensure()
        _check_count("offset", offset)
        if limit is not None:
            _check_count("limit", limit)
            if limit == 0:
                return []
        flt = to_qdrant(filters)
        cursor: Any = None
        skip = offset
        while skip > 0:  # skip pages without payloads; the cursor lands on the first wanted point
            with self._errors("scroll"):
                points, cursor = self._client.scroll(
                    self.collection,
                    scroll_filter=flt,
                    limit=min(skip, _SCROLL_PAGE),
                    offset=cursor,
                    with_payload=False,
                    with_vectors=False,
                )
            skip -= len(points)
            if cursor is None:
                return []
        out: list[Record] = []
        while True:
            page = _SCROLL_PAGE if limit is None else min(limit - len(out), _SCROLL_PAGE)
            with self._errors("scroll"):
                points, cursor = self._client.scroll(
                    self.collection,
                    scroll_filter=flt,
                    limit=page,
                    offset=cursor,
                    with_payload=True,
                    with_vectors=False,
                )
            out.extend(r for r in (_record(p, False) for p in points) if r is not None)
            if cursor is None or (limit is not None and len(out) >= limit):
                return out

    def count(self, filters: FilterNode | None = None) -> int:
        require_support(NAME, filters, self.capabilities)
        self._ensure()
        with self._errors("count"):
            return int(
                self._client.count(
                    self.collection, count_filter=to_qdrant(filters), exact=True
                ).count
            )

    def __repr__(self) -> str:
        where = self.config.url or self.config.path or ":memory:"
        return f"QdrantVectorStore(collection={self.collection!r}, at={where!r})"


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{NAME}: {name} must be a non-negative integer, got {value!r}")


def _hits(points: Sequence[Any]) -> list[Hit]:
    """Scored points written by memstack as hits, highest score first, ties by id."""
    hits = []
    for p in points:
        rid, user, _ = pl.decode(p.payload)
        if rid is not None:
            hits.append(Hit(id=rid, score=float(p.score), payload=user))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits


def _only_scope(filters: FilterNode | None) -> bool:
    """Whether `filters` is nothing but scope equalities (then it selects the whole scope)."""
    children = filters.children if isinstance(filters, And) else (filters,)
    return all(isinstance(c, Comparison) and c.field in SCOPE_FIELDS and c.op == "eq"
               and isinstance(c.value, str) for c in children if c is not None)


def _record(point: Any, with_vectors: bool) -> Record | None:
    rid, user, norm = pl.decode(point.payload)
    if rid is None:  # not written by memstack
        return None
    vector = None
    dense = point.vector.get("") if isinstance(point.vector, dict) else point.vector
    if with_vectors and dense is not None:
        # A cosine collection holds unit vectors -- except local mode on disk after reopening,
        # which loads the vectors as written; scaling by the stored length fits either case.
        length = math.sqrt(sum(float(x) * float(x) for x in dense)) or 1.0
        vector = [float(x) * norm / length for x in dense]
    return Record(id=rid, vector=vector, payload=user)
