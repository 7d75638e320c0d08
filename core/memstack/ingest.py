"""Adding memories: messages stored as given, or facts an LLM extracts and reconciles.

Ids derive from scope + content hash, so the same text in the same scope is stored once,
whoever adds it and however often. Embedding happens outside the write lock; under it the
engine checks again what is stored (another thread or process may have added the same text),
then writes `Change`s through the one `Writer`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from memstack import changes, prompts, timeline
from memstack.changes import Change, Writer
from memstack.config import MemoryConfig
from memstack.embedding import chunks
from memstack.filters import Comparison, and_filters, missing_capabilities, parse_filter
from memstack.inference import decide, extract_facts
from memstack.inputs import check_text
from memstack.locking import WriteLock
from memstack.models import ChatMessage, MemoryEvent, Record, Scope
from memstack.payload import content_hash, memory_id, scope_of
from memstack.progress import progress
from memstack.protocols import LLM, VectorStore

# Below this many new texts, `add` skips the content check before embedding (the check under
# the write lock still runs): two store reads cost more than embedding a rare repeat.
PRECHECK_MIN = 8
Embed = Callable[..., list[list[float]]]
Item = tuple[str, str, str | None]  # text, role, said_at


@dataclass
class Reconciliation:
    """The LLM's decisions, de-duplicated and mapped from its short ids to memory ids."""

    adds: list[str] = field(default_factory=list)
    updates: list[tuple[str, str]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    nones: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, decisions: Sequence[Any], short: dict[str, str]) -> Reconciliation:
        out, seen = cls(), set()
        for d in decisions:
            if d.event == "ADD":
                if d.text.strip() not in out.adds:
                    out.adds.append(d.text.strip())
                continue
            real = short.get(d.id)
            if real is None or real in seen:
                continue
            seen.add(real)
            if d.event == "UPDATE":
                out.updates.append((real, d.text.strip()))
            elif d.event == "DELETE":
                out.deletes.append(real)
            else:
                out.nones.append(real)
        return out


class Ingest:
    """The add side of one `Memory`."""

    def __init__(self, store: VectorStore, embed: Embed, writer: Writer, lock: WriteLock,
                 config: MemoryConfig, llm: LLM | None) -> None:
        self.store, self.embed, self.writer, self.lock = store, embed, writer, lock
        self.config, self.llm = config, llm

    def existing(self, scope: Scope, ids: Sequence[str],
                 hashes: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        """(hash → id of a memory with that text in exactly this scope, ids taken by others)."""
        found = {r.id: r.payload for r in self.store.get(list(ids))}
        same: dict[str, str] = {}
        taken: set[str] = set()
        for i, h in zip(ids, hashes, strict=True):
            if i in found:  # a past version of the same text does not make it current
                if found[i].get("hash") == h and scope_of(found[i]) == scope \
                        and timeline.is_current(found[i]):
                    same[h] = i
                else:
                    taken.add(i)
        rest = tuple(h for h in hashes if h not in same)
        if rest and "filter:in" in self.store.capabilities:
            current = timeline.current_filter()
            if missing_capabilities(current, self.store.capabilities):
                current = None  # checked below instead
            node = and_filters(parse_filter(scope.as_filter()), Comparison("hash", "in", rest),
                               current)
            for r in self.store.list(filters=node, limit=len(rest) * 4):
                if scope_of(r.payload) == scope and timeline.is_current(r.payload):
                    same.setdefault(r.payload["hash"], r.id)
        return same, taken

    def _new(self, scope: Scope, texts: Sequence[str], vectors: Sequence[list[float]],
             meta: dict[str, Any], actor_id: str | None,
             info: Callable[[int], tuple[str | None, str | None]], expires_at: Any = None
             ) -> tuple[list[Change], dict[str, MemoryEvent]]:
        """Under the write lock: ADD changes for the texts not stored in this scope yet, and
        NONE events (by hash) for those that are."""
        hashes = [content_hash(t) for t in texts]
        same, taken = self.existing(scope, [memory_id(scope, h) for h in hashes], hashes)
        out: list[Change] = []
        nones: dict[str, MemoryEvent] = {}
        for n, (text, h, vec) in enumerate(zip(texts, hashes, vectors, strict=True)):
            if h in same:
                nones[h] = changes.unchanged(same[h], text)
                continue
            rid = memory_id(scope, h)
            if rid in taken:  # the id belongs to a memory whose text was since updated
                rid = str(uuid.uuid4())
            role, said_at = info(n)
            out.append(changes.add(rid, text, vec, scope, meta, actor_id=actor_id, role=role,
                                   said_at=said_at, expires_at=expires_at))
        return out, nones

    # --- as given ---------------------------------------------------------------------------
    def add_texts(self, items: Sequence[Item], scope: Scope, meta: dict[str, Any],
                  actor_id: str | None, show_progress: bool,
                  expires_at: Any = None) -> list[MemoryEvent]:
        unique: dict[str, Item] = {}
        for item in items:
            unique.setdefault(content_hash(item[0]), item)
        by_hash: dict[str, MemoryEvent] = {}
        with progress(show_progress, len(unique), "adding memories") as advance:
            for chunk in chunks(list(unique.items()), self.config.batch_size):
                by_hash.update(self._add_chunk(chunk, scope, meta, actor_id, expires_at))
                advance(len(chunk))
        out: list[MemoryEvent] = []
        seen: set[str] = set()
        for text, _, _ in items:  # a repeat inside one call is not stored twice: NONE
            h = content_hash(text)
            e = by_hash[h]
            out.append(e if h not in seen else changes.unchanged(e.id, text))
            seen.add(h)
        return out

    def _add_chunk(self, chunk: Sequence[tuple[str, Item]], scope: Scope,
                   meta: dict[str, Any], actor_id: str | None,
                   expires_at: Any = None) -> dict[str, MemoryEvent]:
        """Add one batch; returns hash → event. Embeds outside the write lock."""
        out: dict[str, MemoryEvent] = {}
        if len(chunk) >= PRECHECK_MIN:  # don't embed what is already stored (re-imports)
            hashes = [h for h, _ in chunk]
            same, _ = self.existing(scope, [memory_id(scope, h) for h in hashes], hashes)
            out = {h: changes.unchanged(same[h], it[0]) for h, it in chunk if h in same}
        todo = [item for h, item in chunk if h not in out]
        if not todo:
            return out
        vectors = self.embed([t for t, _, _ in todo])
        with self.lock:  # re-check: another thread may have added the same text
            adds, nones = self._new(scope, [t for t, _, _ in todo], vectors, meta, actor_id,
                                    lambda n: (todo[n][1], todo[n][2]), expires_at)
            self.writer.apply(adds)
        self.writer.announce(adds)
        out.update(nones)
        out.update((c.entry.new_hash or "", c.event) for c in adds)
        return out

    # --- through an LLM ---------------------------------------------------------------------
    def add_inferred(self, msgs: list[ChatMessage], scope: Scope, meta: dict[str, Any],
                     actor_id: str | None, said_at: str | None = None,
                     expires_at: Any = None) -> list[MemoryEvent]:
        """Facts from the conversation, reconciled with the current memories of the scope. An
        UPDATE or DELETE keeps the old version as the past (closed when the new facts were
        said: the latest message timestamp, else `said_at`, else now)."""
        assert self.llm is not None
        prompt_facts = self.config.prompts.fact_extraction or prompts.FACT_EXTRACTION
        prompt_update = self.config.prompts.update_memory or prompts.UPDATE_MEMORY
        facts = extract_facts(self.llm, msgs, prompt_facts)
        if not facts:
            return []
        scope_filter = and_filters(parse_filter(scope.as_filter()), timeline.view_filter(
            capabilities=self.store.capabilities)[0])
        stamps = [str(m.timestamp) for m in msgs if m.timestamp is not None]
        said_at = max(stamps, key=timeline.ms_of_iso) if stamps else said_at
        existing: dict[str, dict[str, Any]] = {}
        for vec in self.embed(facts, kind="query"):
            for hit in self.store.query(vec, limit=self.config.search.similar_for_update,
                                        filters=scope_filter):
                if timeline.is_current(hit.payload):  # the store may not filter NOT
                    existing.setdefault(hit.id, hit.payload)
        short = {str(n): rid for n, rid in enumerate(existing)}
        decisions = decide(self.llm, {s: existing[r]["text"] for s, r in short.items()},
                           facts, prompt_update)
        role = next((m.role for m in msgs if m.role == "user"), None)
        return self._reconcile(Reconciliation.of(decisions, short), scope, meta, actor_id, role,
                               said_at, expires_at)

    def _later(self, target: Record, said_at: str | None) -> Record | None:
        """When `said_at` is before `target` began (an older conversation imported after
        newer ones): the earliest version of its chain (following ``supersedes``) that began
        after `said_at` — what the older fact held until. None when it is news."""
        if said_at is None or timeline.start_ms(target.payload) <= timeline.ms_of_iso(said_at):
            return None
        while isinstance(prev := target.payload.get("supersedes"), str):
            found = self.store.get([prev])
            if not found or timeline.start_ms(found[0].payload) <= timeline.ms_of_iso(said_at):
                break
            target = found[0]
        return target

    def _reconcile(self, plan: Reconciliation, scope: Scope, meta: dict[str, Any],
                   actor_id: str | None, role: str | None, said_at: str | None = None,
                   expires_at: Any = None) -> list[MemoryEvent]:
        texts = plan.adds + [t for _, t in plan.updates]
        for t in texts:
            check_text(t, self.config.max_text_chars, "text from the LLM")
        vectors = self.embed(texts) if texts else []
        add_vecs, upd_vecs = vectors[:len(plan.adds)], vectors[len(plan.adds):]
        events: list[MemoryEvent] = []
        with self.lock:
            records: dict[str, Record] = {r.id: r for r in self.store.get(
                [r for r, _ in plan.updates] + plan.deletes + plan.nones, with_vectors=True)
                if timeline.is_current(r.payload)}
            current = {rid: r.payload for rid, r in records.items()}
            todo, nones = self._new(scope, plan.adds, add_vecs, meta, actor_id,
                                    lambda n: (role, said_at), expires_at)
            by_hash = {c.entry.new_hash: c.event for c in todo}
            events.extend(nones.get(h) or by_hash[h] for h in map(content_hash, plan.adds))
            for (rid, text), vec in zip(plan.updates, upd_vecs, strict=True):
                old = current.get(rid)
                if old is None:
                    continue
                if old.get("text") == text:
                    events.append(changes.unchanged(rid, text))
                    continue
                new_id = memory_id(scope, content_hash(text))
                taken = new_id in current or bool(self.store.get([new_id]))
                new_id = str(uuid.uuid4()) if taken else new_id
                later = self._later(records[rid], said_at)
                if later is not None:  # said before the stored fact began: it is history
                    todo.append(changes.past(new_id, text, vec, scope, meta, said_at, later,
                                             actor_id=actor_id, role=role))
                    events.append(todo[-1].event)
                    continue
                pair = changes.supersede(records[rid], new_id, text, vec, meta,
                                         said_at=said_at, actor_id=actor_id, role=role,
                                         scope=scope)
                todo.extend(pair)
                events.append(pair[1].event)
            for rid in plan.deletes:
                if rid in current and self._later(records[rid], said_at) is not None:
                    events.append(changes.unchanged(rid, current[rid].get("text", "")))
                elif rid in current:
                    todo.append(changes.close(rid, records[rid], until=said_at,
                                              actor_id=actor_id, role=role, scope=scope))
                    events.append(todo[-1].event)
            events.extend(changes.unchanged(rid, current[rid].get("text", ""))
                          for rid in plan.nones if rid in current)
            self.writer.apply(todo)
        self.writer.announce(todo)
        return events
