"""The write path: every change to a memory is a `Change`, built here and applied in one place.

A `Change` carries the three things one ADD / UPDATE / DELETE must keep in agreement: the
record written to the vector store (none for a delete), the history entry, and the event the
caller gets back. Each is stamped by one clock reading, so a memory's ``created_at`` /
``updated_at`` and its history entry's ``created_at`` are the same instant. `Writer.apply`
writes a batch of changes through the two-phase journal, keeps the keyword side in step and
then tells the ``memstack_after_change`` hooks — plain adds, LLM reconciliation, updates,
deletes and ``delete_all`` all end here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from memstack import journal
from memstack.capabilities import INSERT
from memstack.hookspecs import ChangeContext
from memstack.models import HistoryEntry, MemoryEvent, Record, Scope
from memstack.payload import build_payload, content_hash, now_iso, scope_of
from memstack.plugins import run_hook
from memstack.protocols import HistoryStore, Inserts, VectorStore
from memstack.search import Searcher


@dataclass(frozen=True)
class Change:
    """One ADD / UPDATE / DELETE: what to write, what to record, what to report."""

    kind: Literal["ADD", "UPDATE", "DELETE"]
    record: Record | None
    entry: HistoryEntry
    event: MemoryEvent
    scope: Scope
    new: bool = False  # an ADD whose id was just checked free under the write lock

    @property
    def memory_id(self) -> str:
        return self.entry.memory_id


def _entry(memory_id: str, event: str, at: str, *, old: dict[str, Any] | None = None,
           new: dict[str, Any] | None = None, actor_id: str | None,
           role: str | None) -> HistoryEntry:
    return journal.new_entry(
        memory_id, event, old=old.get("text") if old else None,
        new=new["text"] if new else None, old_hash=old.get("hash") if old else None,
        new_hash=new["hash"] if new else None, actor_id=actor_id, role=role, created_at=at)


def add(memory_id: str, text: str, vector: list[float], scope: Scope, metadata: dict[str, Any],
        *, actor_id: str | None = None, role: str | None = None) -> Change:
    """A new memory (its id checked free by the caller, under the write lock)."""
    at = now_iso()
    payload = build_payload(text, scope, metadata, actor_id=actor_id, role=role, created_at=at)
    return Change("ADD", Record.model_construct(id=memory_id, vector=vector, payload=payload),
                  _entry(memory_id, "ADD", at, new=payload, actor_id=actor_id, role=role),
                  MemoryEvent(id=memory_id, event="ADD", memory=text), scope, new=True)


def update(memory_id: str, old: dict[str, Any], text: str, vector: list[float],
           metadata: dict[str, Any], *, actor_id: str | None = None, role: str | None = None,
           scope: Scope | None = None) -> Change:
    """New text (and merged metadata) for a stored memory; scope and created_at are kept."""
    at = now_iso()
    payload = {**old, **metadata, "text": text, "hash": content_hash(text), "updated_at": at}
    return Change("UPDATE", Record.model_construct(id=memory_id, vector=vector, payload=payload),
                  _entry(memory_id, "UPDATE", at, old=old, new=payload, actor_id=actor_id,
                         role=role),
                  MemoryEvent(id=memory_id, event="UPDATE", memory=text,
                              previous_memory=old.get("text")),
                  scope or scope_of(old))


def delete(memory_id: str, old: dict[str, Any], *, actor_id: str | None = None,
           role: str | None = None, scope: Scope | None = None) -> Change:
    """Remove a stored memory; its history stays. `scope`: what the hooks are told (the
    caller's scope; default the memory's own)."""
    return Change("DELETE", None,
                  _entry(memory_id, "DELETE", now_iso(), old=old, actor_id=actor_id, role=role),
                  MemoryEvent(id=memory_id, event="DELETE", memory=old.get("text", "")),
                  scope or scope_of(old))


def unchanged(memory_id: str, text: str) -> MemoryEvent:
    """The event for a memory the call left as it was."""
    return MemoryEvent(id=memory_id, event="NONE", memory=text)


class Writer:
    """Applies changes: history pending → vector store → history committed (`journal`), the
    keyword side updated, then the after-change hooks. Call under the engine's write lock."""

    def __init__(self, store: VectorStore, history: HistoryStore, searcher: Searcher) -> None:
        self.store, self.history, self.searcher = store, history, searcher
        self.inserts = INSERT in store.capabilities and isinstance(store, Inserts)

    def apply(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        records = [c.record for c in changes if c.record is not None]
        deletes = [c.memory_id for c in changes if c.kind == "DELETE"]
        fresh: list[Record] = []  # ids checked free: the store may skip replace's read
        replace: list[Record] = []
        for c in changes:
            if c.record is not None:
                (fresh if c.new and self.inserts else replace).append(c.record)

        def write() -> None:
            if fresh:
                self.store.insert(fresh)  # type: ignore[attr-defined]
            if replace:
                self.store.upsert(replace)
            if deletes:
                self.store.delete(deletes)

        journal.apply([c.entry for c in changes], self.store, self.history, write)
        self.searcher.apply(records, deletes)

    @staticmethod
    def announce(changes: Sequence[Change]) -> None:
        """Tell the after-change hooks (outside the write lock: observers may be slow)."""
        for c in changes:
            run_hook("memstack_after_change", ChangeContext(event=c.event, scope=c.scope))
