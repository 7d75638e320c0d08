"""`ChromaVectorStore`: one Chroma collection (cosine space) per memstack collection.

Vectors go to Chroma as given (no embedding function: Chroma's default one would download a
model); payloads are encoded by `memstack_chroma.encoding`, filters translated by
`memstack_chroma.where`. Writes are split at Chroma's maximum batch size.

Some filters have no exact Chroma form (``ne`` / ``nin``, their negations, negated ranges,
string ranges: see `memstack_chroma.where`). They are sent as a superset, and the candidates are
checked with the reference evaluator: `list` and `count` walk all candidates; `query` asks for
4x `limit` nearest candidates, then 4x more, until `limit` of them match or Chroma has no more.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from memstack.errors import DimensionMismatch, InvalidInput, StoreError, translate_errors
from memstack.filters import FilterNode, matches, require_support
from memstack.models import Hit, Record
from memstack.vectors import check_vector
from memstack_chroma import clients
from memstack_chroma.capabilities import capabilities_for
from memstack_chroma.config import ChromaConfig
from memstack_chroma.encoding import Layout, decode, encode
from memstack_chroma.where import plan

NAME = "chroma"
DIMENSION_KEY = "memstack:dimension"  # collection metadata: the dimension it was created with
TOKEN_KEY = "memstack:token"  # collection metadata: names its list keys (see encoding.Layout)
FALLBACK_BATCH = 1000  # when a server does not say its maximum batch size


class ChromaVectorStore:
    """A `memstack.protocols.VectorStore` on Chroma (embedded on disk, server, or in memory)."""

    name = NAME

    def __init__(self, config: ChromaConfig) -> None:
        if config.dimension is None:
            raise InvalidInput("chroma: 'dimension' is required (the engine sets it from the "
                               "embedder)")
        self.config = config
        self.dimension = config.dimension
        self.collection_name = config.collection
        self.capabilities = capabilities_for(config.mode)
        self._where = config.describe_location()
        self._lock = threading.RLock()
        self._closed = False
        self._client: Any = None
        self._on_close = clients.nothing
        with self._backend("connect"):
            self._client, self._on_close = clients.connect(config)
        try:
            with self._backend("connect"):
                size = int(self._client.get_max_batch_size())
            self.max_batch_size = size if size > 0 else FALLBACK_BATCH
            self._collection = self._open()
        except BaseException:
            self.close()
            raise

    # --- writing -------------------------------------------------------------------------
    def upsert(self, records: Sequence[Record]) -> None:
        self._write(records, replace=True)

    def insert(self, records: Sequence[Record]) -> None:
        """`upsert` for ids that are not stored: no read of the old metadata first."""
        self._write(records, replace=False)

    def _write(self, records: Sequence[Record], *, replace: bool) -> None:
        if not records:
            return
        latest: dict[str, Record] = {}
        for r in records:
            if not isinstance(r.id, str) or not r.id:
                raise InvalidInput(f"chroma: record ids are non-empty strings, got {r.id!r}")
            latest[r.id] = r  # a repeated id: the last one wins, as with separate upserts
        recs = list(records) if len(latest) == len(records) else list(latest.values())
        ids = [r.id for r in recs]
        vectors = self._matrix([r.vector for r in recs], [r.id for r in recs])
        layout = self._layout
        metadatas = [encode(r.id, r.payload, layout) for r in recs]
        step = self.max_batch_size
        with self._lock:
            col = self._collection
            for start in range(0, len(ids), step):
                batch = ids[start : start + step]
                mds = metadatas[start : start + step]
                with self._backend("upsert" if replace else "insert"):
                    if replace:
                        old = col.get(ids=batch, include=["metadatas"])
                        if old["ids"]:
                            _drop_stale_keys(batch, mds, old["ids"], old["metadatas"])
                    col.upsert(ids=batch, embeddings=vectors[start : start + step], metadatas=mds)

    def delete(self, ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(ids))
        with self._lock:
            col = self._collection
            for start in range(0, len(unique), self.max_batch_size):
                with self._backend("delete"):
                    col.delete(ids=unique[start : start + self.max_batch_size])

    def reset(self) -> None:
        """Delete every record. Record by record, not with `delete_collection`: that one leaves
        list-valued metadata behind for later records to inherit (chroma-core/chroma#7594)."""
        with self._lock:
            col = self._collection
            while True:
                with self._backend("reset"):
                    ids = col.get(limit=self.max_batch_size, include=[])["ids"]
                    if not ids:
                        return
                    col.delete(ids=ids)

    # --- reading -------------------------------------------------------------------------
    def query(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]:
        require_support(self.name, filters, self.capabilities)
        query = self._matrix([vector], ["<query>"])
        if limit <= 0:
            return []
        todo = plan(filters, self._layout)
        if todo.exact:
            hits = self._nearest(query, limit, todo.where)
        else:  # a superset: over-fetch candidates until `limit` of them match
            wanted = max(4 * limit, 64)
            while True:
                found = self._nearest(query, wanted, todo.where)
                hits = [h for h in found if matches(filters, h.payload)]
                if len(hits) >= limit or len(found) < wanted:
                    break
                wanted *= 4
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:limit]

    def query_ids(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[tuple[str, float]]:
        """`query` without reading metadata, when Chroma can apply the whole filter itself."""
        require_support(self.name, filters, self.capabilities)
        query = self._matrix([vector], ["<query>"])
        if limit <= 0:
            return []
        todo = plan(filters, self._layout)
        if todo.exact:
            hits = self._nearest(query, limit, todo.where, payload=False)
            hits.sort(key=lambda h: (-h.score, h.id))
        else:  # string ranges are checked here, on the payloads
            hits = self.query(vector, limit=limit, filters=filters)
        return [(h.id, h.score) for h in hits]

    def _nearest(self, query: Any, n: int, where: dict[str, Any] | None, *,
                 payload: bool = True) -> list[Hit]:
        """The `n` nearest records matching `where`; without `payload`, hits carry `{}`."""
        with self._backend("query"):
            res = self._collection.query(
                query_embeddings=query, n_results=n, where=where,
                include=["metadatas", "distances"] if payload else ["distances"],
            )
        layout = self._layout
        ids, distances = res["ids"][0], res["distances"][0]
        if not payload:
            return [Hit.model_construct(id=i, score=_similarity(d), payload={})
                    for i, d in zip(ids, distances, strict=True)]
        return [
            Hit.model_construct(id=i, score=_similarity(d), payload=decode(m, layout))
            for i, d, m in zip(ids, distances, res["metadatas"][0], strict=True)
        ]

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        unique = list(dict.fromkeys(ids))
        include = ["metadatas", "embeddings"] if with_vectors else ["metadatas"]
        found: dict[str, Record] = {}
        col = self._collection
        for start in range(0, len(unique), self.max_batch_size):
            with self._backend("get"):
                res = col.get(ids=unique[start : start + self.max_batch_size], include=include)
            vectors = res["embeddings"] if with_vectors else None
            for n, (rid, md) in enumerate(zip(res["ids"], res["metadatas"], strict=True)):
                vec = _floats(vectors[n]) if vectors is not None else None
                found[rid] = Record(id=rid, vector=vec, payload=decode(md, self._layout))
        return [found[i] for i in unique if i in found]

    def list(
        self, *, filters: FilterNode | None = None, limit: int | None = None, offset: int = 0
    ) -> list[Record]:
        """Records in Chroma's storage order (insertion order; a replaced record keeps its
        place), which stays the same between calls, so pages neither repeat nor skip."""
        require_support(self.name, filters, self.capabilities)
        if offset < 0 or (limit is not None and limit < 0):
            raise InvalidInput(f"chroma: limit and offset must be >= 0, got {limit}, {offset}")
        if limit == 0:
            return []
        todo = plan(filters, self._layout)
        if not todo.exact:  # a superset: check the candidates, in storage order
            end = None if limit is None else offset + limit
            return list(itertools.islice(self._matching(filters, todo.where), offset, end))
        with self._backend("list"):
            res = self._collection.get(
                where=todo.where, limit=limit, offset=offset or None, include=["metadatas"]
            )
        layout = self._layout
        return [
            Record(id=i, payload=decode(m, layout))
            for i, m in zip(res["ids"], res["metadatas"], strict=True)
        ]

    def count(self, filters: FilterNode | None = None) -> int:
        require_support(self.name, filters, self.capabilities)
        todo = plan(filters, self._layout)
        if not todo.exact:
            return sum(1 for _ in self._matching(filters, todo.where))
        with self._backend("count"):
            if todo.where is None:
                return int(self._collection.count())
            return len(self._collection.get(where=todo.where, include=[])["ids"])

    def _matching(self, filters: FilterNode | None, where: dict[str, Any] | None
                  ) -> Iterator[Record]:
        """The records Chroma selects with `where` that match `filters`, page by page."""
        layout, step, offset = self._layout, self.max_batch_size, 0
        while True:
            with self._backend("list"):
                res = self._collection.get(
                    where=where, limit=step, offset=offset or None, include=["metadatas"]
                )
            for i, m in zip(res["ids"], res["metadatas"], strict=True):
                payload = decode(m, layout)
                if matches(filters, payload):
                    yield Record(id=i, payload=payload)
            if len(res["ids"]) < step:
                return
            offset += step

    # --- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Release the client (and, in memory mode, drop this store's data). Idempotent."""
        with self._lock:
            if self._closed:
                return
            if self.config.mode == "memory" and getattr(self, "_collection", None) is not None:
                # records first: dropping the database would leave list values behind (#7594)
                with contextlib.suppress(StoreError):  # e.g. the collection was deleted already
                    self.reset()
            self._closed = True
            client, self._client = self._client, None
            with self._backend("close"):
                try:
                    self._on_close()
                finally:
                    if client is not None:
                        client.close()

    def __enter__(self) -> ChromaVectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChromaVectorStore({self.collection_name!r}, {self._where})"

    # --- helpers -------------------------------------------------------------------------
    def _open(self) -> Any:
        with self._backend("open collection"):
            col = self._client.get_or_create_collection(
                self.collection_name,
                embedding_function=None,
                configuration={"hnsw": self.config.hnsw()},
                metadata={DIMENSION_KEY: self.dimension, TOKEN_KEY: Layout.new_token()},
            )
            cfg = col.configuration_json or {}  # (`.configuration` warns: legacy EF config)
            index = cfg.get("hnsw") or cfg.get("spann") or {}
            meta = dict(col.metadata or {})
            stored_dim = meta.get(DIMENSION_KEY)
            if stored_dim is None and col.count():
                sample = col.peek(1)["embeddings"]
                stored_dim = len(sample[0]) if sample is not None and len(sample) else None
        space = index.get("space")
        if space not in (None, "cosine"):
            raise StoreError(
                NAME,
                f"collection {self.collection_name!r} in {self._where} uses the {space!r} "
                "distance; memstack needs 'cosine'",
                hint="use another collection name, or delete that collection",
            )
        if stored_dim is not None and int(stored_dim) != self.dimension:
            raise DimensionMismatch(NAME, int(stored_dim), self.dimension)
        if TOKEN_KEY not in meta:  # a collection memstack did not create
            meta[TOKEN_KEY] = Layout.new_token()
            with self._backend("open collection"):
                col.modify(metadata=meta)
        self._layout = Layout.for_token(str(meta[TOKEN_KEY]))
        return col

    def _matrix(self, rows: Sequence[Sequence[float] | None], ids: Sequence[str]) -> Any:
        """float32 matrix of the vectors; typed errors for missing, misshapen or bad values."""
        for rid, row in zip(ids, rows, strict=True):
            if row is None:
                raise InvalidInput(f"chroma: record {rid!r} has no vector")
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                arr = np.asarray(rows, dtype=np.float32)  # beyond float32 range: inf
            ok = arr.ndim == 2 and arr.shape[1] == self.dimension and bool(np.isfinite(arr).all())
        except (TypeError, ValueError):
            ok = False
        if not ok:
            for row in rows:  # the exact error (dimension, NaN/inf), from the shared helper
                check_vector(row, self.dimension, NAME)  # type: ignore[arg-type]
            raise InvalidInput("chroma: vector values must be numbers within the float32 range")
        return arr

    @contextmanager
    def _backend(self, what: str) -> Iterator[None]:
        """chromadb's errors become StoreError naming the provider and the location."""
        if self._closed and what != "close":
            raise StoreError(NAME, f"{what}: the store is closed")
        with translate_errors(NAME, what, self._where, hint=lambda exc: _hint(self.config, exc)):
            yield


def _drop_stale_keys(
    batch: list[str], new: list[dict[str, Any] | None], old_ids: list[str], old: list[Any]
) -> None:
    """Chroma's upsert merges metadata; set the keys a replaced record no longer has to None
    (which deletes them) so that an upsert replaces, in the same single write."""
    position = {rid: n for n, rid in enumerate(batch)}
    for rid, md in zip(old_ids, old, strict=True):
        if not md:
            continue
        n = position[rid]
        fresh = new[n] or {}
        stale = [k for k in md if k not in fresh]
        if stale:
            fresh.update(dict.fromkeys(stale))
            new[n] = fresh


def _similarity(distance: float) -> float:
    """Chroma's cosine distance is 1 - cosine similarity; clamp float32 noise to [-1, 1]."""
    return max(-1.0, min(1.0, 1.0 - float(distance)))


def _hint(config: ChromaConfig, exc: Exception) -> str:
    text = f"{type(exc).__name__} {exc}".lower()
    if config.mode == "server" and any(
        s in text for s in ("connect", "refused", "timed out", "timeout", "resolve", "unreachable")
    ):
        return (
            f"is a Chroma server listening on {config.host}:{config.port}? Start one with "
            f"`chroma run --path <dir> --host {config.host} --port {config.port}`"
        )
    if "different settings" in text:
        return ("another Chroma client in this process uses the same "
                f"{'directory' if config.mode == 'disk' else 'in-memory engine'} with other "
                "Settings; memstack uses Settings(anonymized_telemetry=False)")
    return ""


def _floats(row: Any) -> list[float]:
    """A stored vector as Python floats: one C-level `tolist` for the numpy rows Chroma returns."""
    return row.tolist() if hasattr(row, "tolist") else [float(x) for x in row]
