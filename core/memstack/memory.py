"""`Memory`: the engine users call. It talks to providers only through the core's protocols.

Writes go through `journal.apply` (history pending → vector store → history committed), so the
vector store and the history agree even after a crash; ids derive from scope + content hash, so
the same text in the same scope is stored once, whoever adds it and however often.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from memstack import journal, prompts
from memstack.capabilities import INSERT, QUERY_IDS
from memstack.config import MemoryConfig, ProviderSection, load_config
from memstack.errors import ConfigError, InvalidInput, MemoryNotFound, ProviderError
from memstack.filters import Comparison, FilterNode, and_filters, parse_filter
from memstack.inference import decide, extract_facts
from memstack.inputs import check_metadata, check_scope, check_text, parse_messages
from memstack.keyword_index import KeywordIndex, StoreKeywordSearch, open_keyword_index
from memstack.locking import WriteLock
from memstack.models import (
    AddResult,
    ChatMessage,
    HistoryEntry,
    MemoryEvent,
    MemoryItem,
    MemoryList,
    Record,
    Scope,
    SearchResult,
)
from memstack.payload import (
    build_payload,
    content_hash,
    memory_id,
    now_iso,
    record_for,
    scope_of,
    to_item,
)
from memstack.pipeline import AddContext, ChangeContext, SearchContext, run_hook
from memstack.protocols import (
    LLM,
    Embedder,
    HistoryStore,
    IdsQuery,
    Inserts,
    Reranker,
    VectorStore,
)
from memstack.ranking import fuse
from memstack.registry import get_registry

T = TypeVar("T")
# Below this many new texts, `add` skips the content check before embedding (the check under
# the write lock still runs): two store reads cost more than embedding a rare repeat.
PRECHECK_MIN = 8
ConfigSource = MemoryConfig | dict[str, Any] | str | Path | None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


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
        cfg = self.config
        registry = get_registry()
        self.names: dict[str, str] = {}

        def build(kind: str, section: ProviderSection | None, given: Any,
                  extra: dict[str, Any] | None = None) -> Any:
            if given is not None:
                self.names[kind] = type(given).__name__
                return given
            if section is None:
                return None
            self.names[kind] = section.provider
            conf = {**(extra or {}), **section.config}
            return registry.build(kind, section.provider, conf)

        self.embedder: Embedder = build("embedder", cfg.embedder, embedder)
        dimension = int(self.embedder.dimension)
        given_dim = cfg.vector_store.config.get("dimension")
        if vector_store is None and given_dim not in (None, dimension):
            raise ConfigError(
                f"vector_store.config.dimension is {given_dim} but the embedder "
                f"{self.names['embedder']!r} produces {dimension}-dimensional vectors",
                provider=cfg.vector_store.provider, field="dimension", given=given_dim,
                allowed=str(dimension))
        self.store: VectorStore = build("vector_store", cfg.vector_store, vector_store,
                                        {"collection": cfg.collection, "dimension": dimension})
        self.llm: LLM | None = build("llm", cfg.llm, llm)
        self.reranker: Reranker | None = build("reranker", cfg.reranker, reranker)
        self.history_store: HistoryStore = build("history_store", cfg.history_store,
                                                 history_store)
        self.keywords: KeywordIndex | StoreKeywordSearch | None = (
            open_keyword_index(self.store, cfg) if cfg.search.mode == "hybrid" else None)
        self._write_lock = WriteLock(getattr(self.history_store, "lock", None))
        caps = self.store.capabilities  # optional protocols, used when declared
        self._query_ids = QUERY_IDS in caps and isinstance(self.store, IdsQuery)
        self._inserts = INSERT in caps and isinstance(self.store, Inserts)
        self.recovered = journal.recover(self.store, self.history_store)
        if self.keywords is not None:
            self.keywords.sync(self.store)

    @classmethod
    def from_config(cls, config: ConfigSource) -> Memory:
        """Build from a dict, a YAML / TOML / JSON path, or None (``$MEMSTACK_CONFIG``)."""
        return cls(config)

    # --- helpers ------------------------------------------------------------------------------
    def _embed(self, texts: Sequence[str], kind: str = "document") -> list[list[float]]:
        out: list[list[float]] = []
        dim = self.embedder.dimension
        name = self.names["embedder"]
        for batch in _chunks(texts, self.config.batch_size):
            try:
                vectors = self.embedder.embed(batch, kind=kind)  # type: ignore[arg-type]
            except (InvalidInput, ProviderError):
                raise
            except Exception as exc:
                raise ProviderError(name, f"embedding failed: {type(exc).__name__}: {exc}") \
                    from exc
            if len(vectors) != len(batch):
                raise InvalidInput(f"embedder {name!r} returned {len(vectors)} vectors for "
                                   f"{len(batch)} texts")
            for v in vectors:
                if len(v) != dim:
                    raise InvalidInput(f"embedder {name!r} returned a {len(v)}-dimensional "
                                       f"vector; it declares {dim}")
                if not math.isfinite(sum(v)):
                    raise InvalidInput(f"embedder {name!r} returned a vector with NaN or "
                                       "infinity; nothing was stored")
            out.extend(vectors)
        return out

    def _filters(self, scope: Scope, filters: dict[str, Any] | None) -> FilterNode | None:
        scope_node = parse_filter(scope.as_filter())
        return and_filters(scope_node, parse_filter(filters))

    def _changed(self, events: Sequence[MemoryEvent], scope: Scope) -> None:
        for e in events:
            if e.event != "NONE":
                run_hook("memstack_after_change", ChangeContext(event=e, scope=scope),
                         strict=False)

    def _apply(self, entries: list[HistoryEntry], upserts: list[Record],
               deletes: list[str], *, new: bool = False) -> None:
        """Two-phase write of one batch, keeping the keyword index in step. `new`: every
        record's id was just checked free under the write lock (the store may `insert`)."""
        def change() -> None:
            if upserts:
                if new and self._inserts:
                    self.store.insert(upserts)  # type: ignore[attr-defined]
                else:
                    self.store.upsert(upserts)
            if deletes:
                self.store.delete(deletes)

        journal.apply(entries, self.store, self.history_store, change)
        if self.keywords is not None:
            self.keywords.apply(upserts, deletes)

    def _existing(self, scope: Scope, ids: Sequence[str],
                  hashes: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        """(hash → id of a memory with that text in exactly this scope, ids taken by others)."""
        found = {r.id: r.payload for r in self.store.get(list(ids))}
        same: dict[str, str] = {}
        taken: set[str] = set()
        for i, h in zip(ids, hashes, strict=True):
            if i in found:
                if found[i].get("hash") == h and scope_of(found[i]) == scope:
                    same[h] = i
                else:
                    taken.add(i)
        rest = tuple(h for h in hashes if h not in same)
        if rest and "filter:in" in self.store.capabilities:
            node = and_filters(parse_filter(scope.as_filter()), Comparison("hash", "in", rest))
            for r in self.store.list(filters=node, limit=len(rest) * 4):
                if scope_of(r.payload) == scope:
                    same.setdefault(r.payload["hash"], r.id)
        return same, taken

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
    ) -> AddResult:
        """Remember what was said. With an LLM (``infer``), facts are extracted and reconciled
        with what is stored (ADD / UPDATE / DELETE / NONE); without, each message is stored as
        given. A list of many messages is embedded and written in batches."""
        scope = check_scope(user_id, agent_id, run_id)
        meta = check_metadata(metadata)
        max_chars = self.config.max_text_chars
        msgs = parse_messages(messages, max_chars)
        if infer is None:
            infer = self.llm is not None
        if infer and self.llm is None:
            raise ConfigError("infer=True needs an LLM; add an `llm` section to the config "
                              "(e.g. provider openai) or call add(..., infer=False)",
                              field="llm", given=None)
        ctx = AddContext(messages=msgs, scope=scope, metadata=meta, infer=infer)
        run_hook("memstack_before_add", ctx, strict=True)
        msgs = parse_messages(ctx.messages, max_chars)
        meta = check_metadata(ctx.metadata)
        if infer:
            events = self._add_inferred(msgs, scope, meta, actor_id)
        else:
            items = [(m.content, m.role) for m in msgs if m.role != "system"]
            events = self._add_texts(items, scope, meta, actor_id, progress)
        return AddResult(results=events, inferred=bool(infer))

    def _add_texts(self, items: Sequence[tuple[str, str]], scope: Scope, meta: dict[str, Any],
                   actor_id: str | None, progress: bool) -> list[MemoryEvent]:
        unique: dict[str, tuple[str, str]] = {}
        for text, role in items:
            unique.setdefault(content_hash(text), (text, role))
        by_hash: dict[str, MemoryEvent] = {}
        with _progress(progress, len(unique), "adding memories") as advance:
            for chunk in _chunks(list(unique.items()), self.config.batch_size):
                for h, event in self._add_chunk(chunk, scope, meta, actor_id):
                    by_hash[h] = event
                advance(len(chunk))
        out: list[MemoryEvent] = []
        seen: set[str] = set()
        for text, _ in items:  # a repeat inside one call is not stored twice: NONE
            h = content_hash(text)
            e = by_hash[h]
            out.append(e if h not in seen else MemoryEvent(id=e.id, event="NONE", memory=text))
            seen.add(h)
        return out

    def _add_chunk(self, chunk: Sequence[tuple[str, tuple[str, str]]], scope: Scope,
                   meta: dict[str, Any], actor_id: str | None) -> list[tuple[str, MemoryEvent]]:
        """Add one batch; returns (hash, event) pairs. Embeds outside the write lock."""
        hashes = [h for h, _ in chunk]
        same: dict[str, str] = {}
        if len(chunk) >= PRECHECK_MIN:  # don't embed what is already stored (re-imports)
            same, _ = self._existing(scope, [memory_id(scope, h) for h in hashes], hashes)
        out = [(h, MemoryEvent(id=same[h], event="NONE", memory=t)) for h, (t, _) in chunk
               if h in same]
        todo = [(h, memory_id(scope, h), text, role) for h, (text, role) in chunk
                if h not in same]
        if not todo:
            return out
        vectors = self._embed([t for _, _, t, _ in todo])
        added: list[MemoryEvent] = []
        with self._write_lock:  # re-check: another thread may have added the same text
            now_same, taken = self._existing(scope, [i for _, i, _, _ in todo],
                                             [h for h, _, _, _ in todo])
            entries, records = [], []
            for (h, rid, text, role), vec in zip(todo, vectors, strict=True):
                if h in now_same:
                    out.append((h, MemoryEvent(id=now_same[h], event="NONE", memory=text)))
                    continue
                if rid in taken:  # the id belongs to a memory whose text was since updated
                    rid = str(uuid.uuid4())
                payload = build_payload(text, scope, meta, actor_id=actor_id, role=role)
                entries.append(journal.new_entry(rid, "ADD", new=text, new_hash=h,
                                                 actor_id=actor_id, role=role,
                                                 created_at=payload["created_at"]))
                records.append(record_for(rid, vec, payload))
                event = MemoryEvent(id=rid, event="ADD", memory=text)
                added.append(event)
                out.append((h, event))
            if entries:
                self._apply(entries, records, [], new=True)
        self._changed(added, scope)
        return out

    def _add_inferred(self, msgs: list[ChatMessage], scope: Scope, meta: dict[str, Any],
                      actor_id: str | None) -> list[MemoryEvent]:
        assert self.llm is not None
        prompt_facts = self.config.prompts.fact_extraction or prompts.FACT_EXTRACTION
        prompt_update = self.config.prompts.update_memory or prompts.UPDATE_MEMORY
        facts = extract_facts(self.llm, msgs, prompt_facts)
        if not facts:
            return []
        scope_filter = parse_filter(scope.as_filter())
        existing: dict[str, dict[str, Any]] = {}
        for vec in self._embed(facts, "query"):
            for hit in self.store.query(vec, limit=self.config.search.similar_for_update,
                                        filters=scope_filter):
                existing.setdefault(hit.id, hit.payload)
        short = {str(n): rid for n, rid in enumerate(existing)}
        decisions = decide(self.llm, {s: existing[r]["text"] for s, r in short.items()},
                           facts, prompt_update)
        role = next((m.role for m in msgs if m.role == "user"), None)
        return self._apply_decisions(decisions, short, scope, meta, actor_id, role)

    def _apply_decisions(self, decisions: Sequence[Any], short: dict[str, str], scope: Scope,
                         meta: dict[str, Any], actor_id: str | None,
                         role: str | None) -> list[MemoryEvent]:
        seen: set[str] = set()
        adds: list[str] = []
        updates: list[tuple[str, str]] = []
        deletes: list[str] = []
        nones: list[str] = []
        for d in decisions:
            if d.event == "ADD":
                if d.text.strip() not in adds:
                    adds.append(d.text.strip())
                continue
            real = short.get(d.id)
            if real is None or real in seen:
                continue
            seen.add(real)
            if d.event == "UPDATE":
                updates.append((real, d.text.strip()))
            elif d.event == "DELETE":
                deletes.append(real)
            else:
                nones.append(real)
        texts = adds + [t for _, t in updates]
        for t in texts:
            check_text(t, self.config.max_text_chars, "text from the LLM")
        vectors = self._embed(texts) if texts else []
        add_vecs, upd_vecs = vectors[:len(adds)], vectors[len(adds):]
        events: list[MemoryEvent] = []
        with self._write_lock:
            current = {r.id: r.payload for r in self.store.get(
                [r for r, _ in updates] + deletes + nones)}
            hashes = [content_hash(t) for t in adds]
            same, taken = self._existing(scope, [memory_id(scope, h) for h in hashes], hashes)
            entries, records, removed = [], [], []
            for text, h, vec in zip(adds, hashes, add_vecs, strict=True):
                if h in same:
                    events.append(MemoryEvent(id=same[h], event="NONE", memory=text))
                    continue
                rid = memory_id(scope, h)
                rid = str(uuid.uuid4()) if rid in taken else rid
                payload = build_payload(text, scope, meta, actor_id=actor_id, role=role)
                entries.append(journal.new_entry(rid, "ADD", new=text, new_hash=h,
                                                 actor_id=actor_id, role=role))
                records.append(record_for(rid, vec, payload))
                events.append(MemoryEvent(id=rid, event="ADD", memory=text))
            for (rid, text), vec in zip(updates, upd_vecs, strict=True):
                old = current.get(rid)
                if old is None:
                    continue
                if old.get("text") == text:
                    events.append(MemoryEvent(id=rid, event="NONE", memory=text))
                    continue
                payload = self._updated_payload(old, text, meta)
                entries.append(journal.new_entry(
                    rid, "UPDATE", old=old.get("text"), new=text, old_hash=old.get("hash"),
                    new_hash=payload["hash"], actor_id=actor_id, role=role))
                records.append(record_for(rid, vec, payload))
                events.append(MemoryEvent(id=rid, event="UPDATE", memory=text,
                                          previous_memory=old.get("text")))
            for rid in deletes:
                old = current.get(rid)
                if old is None:
                    continue
                entries.append(journal.new_entry(rid, "DELETE", old=old.get("text"),
                                                 old_hash=old.get("hash"), actor_id=actor_id,
                                                 role=role))
                removed.append(rid)
                events.append(MemoryEvent(id=rid, event="DELETE", memory=old.get("text", "")))
            for rid in nones:
                if rid in current:
                    events.append(MemoryEvent(id=rid, event="NONE",
                                              memory=current[rid].get("text", "")))
            if entries:
                self._apply(entries, records, removed)
        self._changed(events, scope)
        return events

    @staticmethod
    def _updated_payload(old: dict[str, Any], text: str, meta: dict[str, Any]) -> dict[str, Any]:
        payload = {**old, **meta}
        payload["text"] = text
        payload["hash"] = content_hash(text)
        payload["updated_at"] = now_iso()
        return payload

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
    ) -> SearchResult:
        """Memories in the scope most relevant to `query`, best first.

        `score` is the cosine similarity; `threshold` drops hits below it. With a reranker
        configured (and `rerank` not False) more candidates are fetched and reordered.
        """
        scope = check_scope(user_id, agent_id, run_id)
        query = check_text(query, self.config.max_text_chars, "query")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidInput(f"limit must be a positive integer, got {limit!r}")
        ctx = SearchContext(query=query, scope=scope, filters=filters, limit=limit)
        run_hook("memstack_before_search", ctx, strict=True)
        node = self._filters(scope, ctx.filters)
        use_rerank = self.reranker is not None and rerank is not False
        if rerank and self.reranker is None:
            raise ConfigError("rerank=True needs a reranker; add a `reranker` section",
                              field="reranker", given=None)
        wide = ctx.limit * self.config.search.candidates
        fetch = wide if (use_rerank or self.keywords is not None) else ctx.limit
        qvec = self._embed([ctx.query], "query")[0]
        ranked: list[tuple[str, dict[str, Any], float]]
        if self.keywords is None:
            hits = self.store.query(qvec, limit=fetch, filters=node)
            ranked = [(h.id, h.payload, h.score) for h in hits]
        else:
            # Fusion returns a few of `fetch` candidates: read payloads for those alone.
            candidates: list[tuple[str, dict[str, Any] | None, float]]
            if self._query_ids and not use_rerank:
                pairs = self.store.query_ids(qvec, limit=fetch,  # type: ignore[attr-defined]
                                             filters=node)
                candidates = [(rid, None, score) for rid, score in pairs]
            else:
                candidates = [(h.id, h.payload, h.score)
                              for h in self.store.query(qvec, limit=fetch, filters=node)]
            kw = self.keywords.search(ctx.query, limit=wide, filters=node)
            cache = self.keywords if isinstance(self.keywords, KeywordIndex) else None
            ranked = fuse(candidates, kw, self.store, qvec, self.config.search,
                          limit=None if use_rerank else ctx.limit, threshold=threshold,
                          cache=cache)
        if threshold is not None:
            ranked = [r for r in ranked if r[2] >= threshold]
        if not use_rerank:  # only what is returned becomes a MemoryItem
            ranked = ranked[:ctx.limit]
        items = [to_item(i, p, s) for i, p, s in ranked]
        if use_rerank and items:
            assert self.reranker is not None
            order = self.reranker.rerank(ctx.query, [it.memory for it in items],
                                         top_k=ctx.limit)
            items = [items[i].model_copy(update={"rerank_score": s}) for i, s in order]
        ctx.results = items[:ctx.limit]
        run_hook("memstack_after_search", ctx, strict=False)
        return SearchResult(results=ctx.results)

    def _fetch(self, memory_id: str, scope: Scope) -> Record | None:
        """The record, or None when missing or (if a scope is given) outside that scope."""
        if not isinstance(memory_id, str) or not memory_id:
            raise InvalidInput(f"memory id must be a non-empty string, got {memory_id!r}")
        records = self.store.get([memory_id])
        if not records:
            return None
        payload = records[0].payload
        if any(payload.get(k) != v for k, v in scope.as_filter().items()):
            return None
        return records[0]

    def get(self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None,
            run_id: str | None = None) -> MemoryItem | None:
        """The memory with this id, or None. With a scope, only a memory in that scope."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        record = self._fetch(memory_id, scope)
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
    ) -> MemoryList:
        """Memories in the scope (and matching `filters`), in the store's stable order."""
        scope = check_scope(user_id, agent_id, run_id)
        records = self.store.list(filters=self._filters(scope, filters), limit=limit,
                                  offset=offset)
        return MemoryList(results=[to_item(r.id, r.payload) for r in records])

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every committed change to the memory, oldest first (kept after deletion)."""
        return self.history_store.history(memory_id)

    # --- change -------------------------------------------------------------------------------
    def update(self, memory_id: str, text: str, *, metadata: dict[str, Any] | None = None,
               actor_id: str | None = None, user_id: str | None = None,
               agent_id: str | None = None, run_id: str | None = None) -> MemoryEvent:
        """Replace a memory's text (and merge `metadata`); the history keeps old → new.
        With a scope, only a memory in that scope is touched."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        text = check_text(text, self.config.max_text_chars)
        meta = check_metadata(metadata)
        vec = self._embed([text])[0]
        with self._write_lock:
            record = self._fetch(memory_id, scope)
            if record is None:
                raise MemoryNotFound(f"no memory with id {memory_id!r}{_in(scope)}")
            old = record.payload
            if old.get("text") == text and all(old.get(k) == v for k, v in meta.items()):
                return MemoryEvent(id=memory_id, event="NONE", memory=text)
            payload = self._updated_payload(old, text, meta)
            entry = journal.new_entry(memory_id, "UPDATE", old=old.get("text"), new=text,
                                      old_hash=old.get("hash"), new_hash=payload["hash"],
                                      actor_id=actor_id)
            self._apply([entry], [record_for(memory_id, vec, payload)], [])
        event = MemoryEvent(id=memory_id, event="UPDATE", memory=text,
                            previous_memory=old.get("text"))
        self._changed([event], scope_of(old))
        return event

    def delete(self, memory_id: str, *, actor_id: str | None = None,
               user_id: str | None = None, agent_id: str | None = None,
               run_id: str | None = None) -> MemoryEvent:
        """Delete one memory; its history stays. With a scope, only a memory in that scope."""
        scope = check_scope(user_id, agent_id, run_id, required=False)
        with self._write_lock:
            record = self._fetch(memory_id, scope)
            if record is None:
                raise MemoryNotFound(f"no memory with id {memory_id!r}{_in(scope)}")
            old = record.payload
            entry = journal.new_entry(memory_id, "DELETE", old=old.get("text"),
                                      old_hash=old.get("hash"), actor_id=actor_id)
            self._apply([entry], [], [memory_id])
        event = MemoryEvent(id=memory_id, event="DELETE", memory=old.get("text", ""))
        self._changed([event], scope_of(old))
        return event

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
                entries = [journal.new_entry(r.id, "DELETE", old=r.payload.get("text"),
                                             old_hash=r.payload.get("hash"), actor_id=actor_id)
                           for r in batch]
                self._apply(entries, [], [r.id for r in batch])
            done = [MemoryEvent(id=r.id, event="DELETE", memory=r.payload.get("text", ""))
                    for r in batch]
            self._changed(done, scope)
            events.extend(done)
        return events

    def reset(self) -> None:
        """Remove every memory and all history of this collection. Cannot be undone."""
        with self._write_lock:
            self.store.reset()
            self.history_store.reset()
            if self.keywords is not None:
                self.keywords.reset()

    def close(self) -> None:
        for part in (self.store, self.history_store, self.keywords):
            if part is not None and hasattr(part, "close"):
                part.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _in(scope: Scope) -> str:
    given = scope.as_filter()
    return " in scope " + ", ".join(f"{k}={v!r}" for k, v in given.items()) if given else ""


@contextmanager
def _progress(show: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when `show`, else a no-op."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
