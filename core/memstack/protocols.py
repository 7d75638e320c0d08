"""The typed contracts every provider implements. The core talks to backends only through these.

Providers are plain classes that match these protocols structurally; they need not inherit.
Each instance exposes `capabilities` (a frozenset of strings from `memstack.capabilities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, runtime_checkable

from memstack.filters.tree import FilterNode
from memstack.models import ChatMessage, HistoryEntry, Hit, HybridHits, Record

EmbedKind = Literal["document", "query"]


@runtime_checkable
class VectorStore(Protocol):
    """A collection of records of one dimension.

    - `query` returns hits sorted by cosine similarity, descending (higher is better).
    - `get` returns the records that exist, in the order of `ids`; missing ids are skipped.
    - `list` returns a stable order, so that pages by `offset` neither repeat nor skip records.
    - `upsert` of an existing id replaces the record.
    - Filters are `FilterNode` trees (parsed by the core); a node the store cannot translate raises
      `UnsupportedFeature`, never a silent widening.
    """

    capabilities: frozenset[str]
    dimension: int

    def upsert(self, records: Sequence[Record]) -> None: ...

    def query(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]: ...

    def get(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def list(
        self, *, filters: FilterNode | None = None, limit: int | None = None, offset: int = 0
    ) -> list[Record]: ...

    def count(self, filters: FilterNode | None = None) -> int: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class KeywordSearch(Protocol):
    """Optional, with capability `keyword_search`: the store's own full-text ranking."""

    def keyword_query(
        self, text: str, *, limit: int, filters: FilterNode | None = None
    ) -> list[Hit]: ...


@runtime_checkable
class HybridQuery(Protocol):
    """Optional, with capabilities `hybrid_query` and `keyword_search`: one call for both sides.

    Returns exactly what `query(vector, limit=limit, filters=filters)` and
    `keyword_query(text, limit=keyword_limit, filters=filters)` return, plus the cosine
    similarity of each keyword hit, read at one point in time. A store that reaches its data
    over a network saves the round trips of separate calls and of reading keyword-only hits back.
    """

    def hybrid_query(
        self, vector: Sequence[float], text: str, *, limit: int, keyword_limit: int,
        filters: FilterNode | None = None,
    ) -> HybridHits: ...


@runtime_checkable
class IdsQuery(Protocol):
    """Optional, with capability `query_ids`: `query` without the payloads.

    The same hits as `query` with the same arguments (ids, order, scores), as (id, score)
    pairs. Hybrid search ranks a few times more candidates than it returns, so it asks for
    ids only and then reads the payloads of the results alone (one `get`).
    """

    def query_ids(
        self, vector: Sequence[float], *, limit: int, filters: FilterNode | None = None
    ) -> list[tuple[str, float]]: ...


@runtime_checkable
class Inserts(Protocol):
    """Optional, with capability `insert`: `upsert` for records whose ids are not stored.

    The engine calls it only for ids it has just checked are free, under its write lock (new
    memories), so a store may skip what replacing needs (Chroma reads a record before replacing
    it, to drop metadata keys the new one lacks). Given a stored id, what happens is the store's
    business; the engine never does that.
    """

    def insert(self, records: Sequence[Record]) -> None: ...


@runtime_checkable
class BulkLoads(Protocol):
    """Optional, with capability `bulk_load`: a block for writing many records at once.

    Inside it every operation still works and gives the same results (searches may be slower);
    what the store does differently is its business, typically index upkeep deferred to the end
    of the block (PostgreSQL builds an index once far faster than it updates one row by row).
    When the block ends, normally or by an error, every write made in it is kept and the store
    is as fast as before. Worth it only when the load is large next to what is stored.
    """

    def bulk_load(self) -> AbstractContextManager[None]: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of `dimension` floats, in batches."""

    capabilities: frozenset[str]
    dimension: int

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document") -> list[list[float]]: ...


@runtime_checkable
class LLM(Protocol):
    """Chat messages in, text out. With `response_schema` (a JSON schema) the text is JSON."""

    capabilities: frozenset[str]

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_schema: dict[str, Any] | None = None,
        schema_name: str = "response",
    ) -> str: ...


@runtime_checkable
class Reranker(Protocol):
    """Scores documents against a query: (index into `documents`, score), best first."""

    capabilities: frozenset[str]

    def rerank(
        self, query: str, documents: Sequence[str], *, top_k: int | None = None
    ) -> list[tuple[int, float]]: ...


@runtime_checkable
class HistoryStore(Protocol):
    """Every change to every memory, written in two phases so a crash leaves nothing half-done.

    `begin` writes entries as pending (`committed=False`); `commit`/`discard` settle them; `pending`
    lists what a crashed writer left behind, so the engine can reconcile it with the vector store.
    Optional: `lock()`, a context manager that excludes other processes (or hosts) sharing this
    history while the engine checks and applies a write — without it only threads are serialised.
    """

    capabilities: frozenset[str]

    def begin(self, entries: Sequence[HistoryEntry]) -> None: ...

    def commit(self, entry_ids: Sequence[str]) -> None: ...

    def discard(self, entry_ids: Sequence[str]) -> None: ...

    def pending(self) -> list[HistoryEntry]: ...

    def history(self, memory_id: str) -> list[HistoryEntry]: ...

    def memory_ids(self) -> list[str]: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...
