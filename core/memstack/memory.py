"""`Memory`: the engine users call — a facade over the stack, the add side, search and writes.

Where each job lives: providers are built by `memstack.stack`; adds (as given, or through an
LLM) by `memstack.ingest`; every write is a `Change` applied by `memstack.changes.Writer`
through the two-phase journal (history pending → vector store → history committed), so the
vector store and the history agree even after a crash; search by `memstack.search`. This class
validates what callers give, runs the pipeline hooks and holds the write lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memstack import changes, journal, timeline
from memstack.changes import Writer
from memstack.config import MemoryConfig, load_config
from memstack.embedding import embed_checked
from memstack.errors import ConfigError, InvalidInput
from memstack.expiry import prune
from memstack.filters import FilterNode, and_filters, parse_filter
from memstack.hookspecs import AddContext, SearchContext
from memstack.ingest import Ingest
from memstack.inputs import check_metadata, check_scope, check_text, parse_messages
from memstack.locking import WriteLock
from memstack.lookup import fetch, must_fetch
from memstack.models import (
    AddResult,
    ChatMessage,
    HistoryEntry,
    MemoryEvent,
    MemoryItem,
    MemoryList,
    Scope,
    SearchResult,
)
from memstack.payload import to_item
from memstack.plugins import run_hook
from memstack.protocols import LLM, Embedder, HistoryStore, Reranker, VectorStore
from memstack.search import Searcher
from memstack.stack import build_stack
from memstack.timeline import TimeInput
from memstack.vision import describe_images

ConfigSource = MemoryConfig | dict[str, Any] | str | Path | None


class Memory:
    """Long-term memory scoped per user / agent / run. Safe to share between threads."""

    def __init__(
        self,
        config: ConfigSource = None,
        *,
        vector_store: VectorStore | None = None,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        reranker: Reranker | None = None,
        history_store: HistoryStore | None = None,
    ) -> None:
        self.config = load_config(config)
        stack = build_stack(self.config, vector_store=vector_store, embedder=embedder, llm=llm,
                            reranker=reranker, history_store=history_store)
        self.names = stack.names
        self.embedder: Embedder = stack.embedder
        self.store: VectorStore = stack.store
        self.llm: LLM | None = stack.llm
        self.reranker: Reranker | None = stack.reranker
        self.history_store: HistoryStore = stack.history_store
        self.searcher = Searcher(self.store, self.config.search, self.reranker)
        self._write_lock = WriteLock(getattr(self.history_store, "lock", None))
        self._writer = Writer(self.store, self.history_store, self.searcher)
        self._ingest = Ingest(self.store, self._embed, self._writer, self._write_lock,
                              self.config, self.llm)
        self.recovered = journal.recover(self.store, self.history_store)

    @classmethod
    def from_config(cls, config: ConfigSource) -> Memory:
        """Build from a dict, a YAML / TOML / JSON path, or None (``$MEMSTACK_CONFIG``)."""
        return cls(config)

    @property
    def keywords(self) -> Any:
        """The keyword side of hybrid search (None in vector mode)."""
        return self.searcher.keywords

    def _embed(self, texts: Sequence[str], kind: str = "document") -> list[list[float]]:
        return embed_checked(self.embedder, self.names["embedder"], texts, kind=kind,
                             batch_size=self.config.batch_size)

    def _filters(self, scope: Scope, filters: dict[str, Any] | None,
                 view: FilterNode | None = None) -> FilterNode | None:
        return and_filters(parse_filter(scope.as_filter()), parse_filter(filters), view)

    # --- add ----------------------------------------------------------------------------------
    def add(
        self,
        messages: str | dict[str, Any] | Sequence[dict[str, Any] | ChatMessage | str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool | None = None,
        actor_id: str | None = None,
        progress: bool = False,
        timestamp: TimeInput = None,
        expires_at: TimeInput = None,
    ) -> AddResult:
        """Remember what was said. With an LLM (``infer``), facts are extracted and reconciled
        with what is stored (ADD / NONE; an UPDATE or DELETE keeps the old version as the past);
        without, each message is stored as given. `timestamp` (or a message's own): when it was
        said and began to hold; after `expires_at` it is not returned."""
        scope = check_scope(user_id, agent_id, run_id)
        meta = check_metadata(metadata)
        said_at, expires = timeline.iso_or_none(timestamp), timeline.moment(expires_at)
        max_chars = self.config.max_text_chars
        msgs = parse_messages(messages, max_chars)
        infer = self.llm is not None if infer is None else infer
        if infer and self.llm is None:
            raise ConfigError("infer=True needs an LLM; add an `llm` section to the config "
                              "(e.g. provider openai) or call add(..., infer=False)",
                              field="llm", given=None)
        ctx = AddContext(messages=msgs, scope=scope, metadata=meta, infer=infer)
        run_hook("memstack_before_add", ctx)
        msgs = describe_images(self.llm, parse_messages(ctx.messages, max_chars),
                               self.names.get("llm", "llm"))
        meta = check_metadata(ctx.metadata)
        if infer:
            events = self._ingest.add_inferred(msgs, scope, meta, actor_id, said_at, expires)
        else:
            items = [(m.content, m.role, str(m.timestamp) if m.timestamp else said_at)
                     for m in msgs if m.role != "system"]
            events = self._ingest.add_texts(items, scope, meta, actor_id, progress, expires)
        return AddResult(results=events, inferred=bool(infer))

    # --- read ---------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 10,
        threshold: float | None = None,
        rerank: bool | None = None,
        as_of: TimeInput = None,
        include_superseded: bool = False,
        include_expired: bool = False,
        explain: bool = False,
    ) -> SearchResult:
        """Memories in the scope most relevant to `query`, best first.

        `score` is the cosine similarity; `threshold` drops hits below it. With a reranker
        configured (and `rerank` not False) more candidates are fetched and reordered. Only
        current, unexpired memories unless `as_of` (what held then), `include_superseded` or
        `include_expired`; `explain` fills each hit's `explanation`.
        """
        scope = check_scope(user_id, agent_id, run_id)
        query = check_text(query, self.config.max_text_chars, "query")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidInput(f"limit must be a positive integer, got {limit!r}")
        ctx = SearchContext(query=query, scope=scope, filters=filters, limit=limit)
        run_hook("memstack_before_search", ctx)
        view, rest = timeline.view_filter(as_of, include_superseded, include_expired,
                                          self.store.capabilities)
        node = self._filters(scope, ctx.filters, view)
        if rerank and self.reranker is None:
            raise ConfigError("rerank=True needs a reranker; add a `reranker` section",
                              field="reranker", given=None)
        qvec = self._embed([ctx.query], "query")[0]
        ctx.results = timeline.held_at(self.searcher.search(
            ctx.query, qvec, node, limit=ctx.limit, threshold=threshold,
            rerank=self.reranker is not None and rerank is not False, explain=explain), rest)
        timeline.explain_view(ctx.results if explain else [], scope.as_filter(), ctx.filters,
                              as_of, include_superseded, include_expired)
        run_hook("memstack_after_search", ctx)
        return SearchResult(results=ctx.results)

    def get(self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None,
            run_id: str | None = None) -> MemoryItem | None:
        """The memory with this id, or None. With a scope, only a memory in that scope."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        record = fetch(self.store, memory_id, scope)
        return to_item(record.id, record.payload) if record else None

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
        as_of: TimeInput = None,
        include_superseded: bool = False,
        include_expired: bool = False,
    ) -> MemoryList:
        """Memories in the scope (and matching `filters`), in the store's stable order; only
        current, unexpired ones unless `as_of`, `include_superseded` or `include_expired`."""
        scope = check_scope(user_id, agent_id, run_id)
        view, rest = timeline.view_filter(as_of, include_superseded, include_expired,
                                          self.store.capabilities)
        records = self.store.list(filters=self._filters(scope, filters, view), limit=limit,
                                  offset=offset)
        return MemoryList(results=timeline.held_at([to_item(r.id, r.payload) for r in records],
                                                   rest))

    def history(self, memory_id: str, *, user_id: str | None = None,
                agent_id: str | None = None, run_id: str | None = None) -> list[HistoryEntry]:
        """Every committed change to the memory, oldest first (kept after deletion). With a
        scope, only the history of a memory that is in that scope now."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        if scope.as_filter():
            must_fetch(self.store, memory_id, scope)
        return self.history_store.history(memory_id)

    # --- change -------------------------------------------------------------------------------
    def update(self, memory_id: str, text: str, *, metadata: dict[str, Any] | None = None,
               actor_id: str | None = None, user_id: str | None = None,
               agent_id: str | None = None, run_id: str | None = None,
               supersede: bool = False, timestamp: TimeInput = None) -> MemoryEvent:
        """Replace a memory's text (and merge `metadata`): a correction, the history keeps
        old → new. With `supersede`, the world changed: a new version holds from `timestamp`
        (default now) and the old one is kept as the past. With a scope, only a memory in
        that scope is touched."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        text = check_text(text, self.config.max_text_chars)
        meta = check_metadata(metadata)
        vec = self._embed([text])[0]
        with self._write_lock:
            record = must_fetch(self.store, memory_id, scope, with_vectors=supersede)
            old = record.payload
            if old.get("text") == text and all(old.get(k) == v for k, v in meta.items()):
                return changes.unchanged(memory_id, text)
            done = [changes.update(memory_id, old, text, vec, meta, actor_id=actor_id)]
            if supersede:
                done = changes.supersede(record, str(uuid.uuid4()), text, vec, meta,
                                         said_at=timeline.iso_or_none(timestamp),
                                         actor_id=actor_id)
            self._writer.apply(done)
        self._writer.announce(done)
        return done[-1].event

    def delete(self, memory_id: str, *, actor_id: str | None = None,
               user_id: str | None = None, agent_id: str | None = None,
               run_id: str | None = None) -> MemoryEvent:
        """Delete one memory; its history stays. With a scope, only a memory in that scope."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        with self._write_lock:
            old = must_fetch(self.store, memory_id, scope).payload
            change = changes.delete(memory_id, old, actor_id=actor_id)
            self._writer.apply([change])
        self._writer.announce([change])
        return change.event

    def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                   run_id: str | None = None, actor_id: str | None = None) -> list[MemoryEvent]:
        """Delete every memory in the scope (the scope is required); histories stay."""
        scope = check_scope(user_id, agent_id, run_id)
        node = self._filters(scope, None)
        events: list[MemoryEvent] = []
        while True:
            with self._write_lock:
                batch = self.store.list(filters=node, limit=self.config.batch_size)
                if not batch:
                    break
                done = [changes.delete(r.id, r.payload, actor_id=actor_id, scope=scope)
                        for r in batch]
                self._writer.apply(done)
            self._writer.announce(done)
            events.extend(c.event for c in done)
        return events

    def prune(self) -> list[MemoryEvent]:
        """Delete every memory (in every scope) whose `expires_at` has passed; idempotent."""
        return prune(self.store, self._writer, self._write_lock, self.config.batch_size)

    def reset(self) -> None:
        """Remove every memory and all history of this collection. Cannot be undone."""
        with self._write_lock:
            self.store.reset()
            self.history_store.reset()
            self.searcher.reset()

    def close(self) -> None:
        for part in (self.store, self.history_store, self.searcher):
            if (close := getattr(part, "close", None)) is not None:
                close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
