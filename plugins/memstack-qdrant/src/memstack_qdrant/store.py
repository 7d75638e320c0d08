"""`QdrantVectorStore`: memstack's VectorStore protocol over a Qdrant collection.

The collection is created on first use (cosine distance), so building a store never touches the
network. Writes use `wait=True` so the next read sees them. Local mode is not thread-safe, so its
calls are serialised with a lock; a server client is shared freely between threads.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client.http import models

from memstack.errors import DimensionMismatch, InvalidInput, StoreError, translate_errors
from memstack.filters import FilterNode, require_support
from memstack.models import Hit, Record
from memstack.vectors import check_vector
from memstack_qdrant import capabilities as qcaps
from memstack_qdrant import payload as pl
from memstack_qdrant.clients import close_folder, open_folder
from memstack_qdrant.config import QdrantStoreConfig
from memstack_qdrant.filters import to_qdrant
from memstack_qdrant.ids import point_id

NAME = "qdrant"
_SCROLL_PAGE = 1000


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
        for field in dict.fromkeys([*self.config.indexed_fields, pl.NONSCALAR_KEY]):
            if field in existing:
                continue
            self._client.create_payload_index(
                self.collection,
                field_name=field,
                field_schema=models.PayloadSchemaType.KEYWORD,
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
            by_id[r.id] = models.PointStruct(
                id=point_id(r.id), vector=vec, payload=pl.encode(r.id, r.payload, norm)
            )
        points = list(by_id.values())
        size = self.config.batch_size
        for start in range(0, len(points), size):
            with self._errors("upsert points"):
                self._client.upsert(self.collection, points=points[start : start + size], wait=True)

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
        hits = []
        for p in self._nearest(vector, limit, filters, True):
            rid, user, _ = pl.decode(p.payload)
            if rid is not None:
                hits.append(Hit(id=rid, score=float(p.score), payload=user))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits

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
        params = models.SearchParams(exact=True) if self.config.exact else None
        with self._errors("query"):
            res = self._client.query_points(
                self.collection,
                query=q,
                limit=limit,
                query_filter=to_qdrant(filters),
                search_params=params,
                with_payload=with_payload,
                with_vectors=False,
            )
        return list(res.points)

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


def _record(point: Any, with_vectors: bool) -> Record | None:
    rid, user, norm = pl.decode(point.payload)
    if rid is None:  # not written by memstack
        return None
    vector = None
    if with_vectors and point.vector is not None:
        vector = [float(x) * norm for x in point.vector]
    return Record(id=rid, vector=vector, payload=user)
