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

from memstack import journal, timeline
from memstack.capabilities import INSERT
from memstack.errors import InvalidInput
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
    closes: bool = False  # ends a version's validity: written after the batch's other records
    announced: bool = True  # False: its event is told by another change of the batch

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
        *, actor_id: str | None = None, role: str | None = None, said_at: str | None = None,
        expires_at: Any = None, at: str | None = None) -> Change:
    """A new memory (its id checked free by the caller, under the write lock)."""
    at = at or now_iso()
    payload = build_payload(text, scope, metadata, actor_id=actor_id, role=role, created_at=at,
                            said_at=said_at, expires_at=expires_at)
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


def close(memory_id: str, old: Record, *, until: str | None = None, successor: Change | None = None,
          actor_id: str | None = None, role: str | None = None,
          scope: Scope | None = None) -> Change:
    """End a stored version's validity at `until` (default now) and keep it as the past.

    With a `successor` (its ADD, in the same `Writer.apply` batch) the history entry reads as
    an UPDATE from this text to the successor's and the payload links the two; without, it is
    the DELETE of a fact that stopped holding. The payload records the entry's id
    (``closed_by``), so crash recovery can tell whether this close reached the store.
    """
    at = successor.entry.created_at if successor else now_iso()
    new = successor.record.payload if successor and successor.record else None
    entry = _entry(memory_id, "UPDATE" if new else "DELETE", at, old=old.payload, new=new,
                   actor_id=actor_id, role=role)
    until = until or (new["valid_from"] if new else at)
    payload = {**timeline.closing_fields(old.payload, until, entry.entry_id,
                                         successor.memory_id if successor else None),
               "updated_at": at}
    text = old.payload.get("text", "")
    event = (MemoryEvent(id=successor.memory_id, event="UPDATE", memory=new["text"],
                         previous_memory=text, supersedes=memory_id) if successor and new
             else MemoryEvent(id=memory_id, event="DELETE", memory=text))
    return Change("UPDATE", Record.model_construct(id=memory_id, vector=old.vector,
                                                   payload=payload),
                  entry, event, scope or scope_of(old.payload), closes=True)


def supersede(old: Record, new_id: str, text: str, vector: list[float], metadata: dict[str, Any],
              *, said_at: str | None = None, actor_id: str | None = None,
              role: str | None = None, scope: Scope | None = None,
              new: bool = True) -> list[Change]:
    """A new current version (`new_id`) and the old one closed where it begins: one batch."""
    if not timeline.is_current(old.payload):
        raise InvalidInput(f"memory {old.id!r} is not current (valid until "
                           f"{old.payload.get('valid_until')}, superseded by "
                           f"{old.payload.get('superseded_by')!r}); supersede the current "
                           "version, or correct this one with a plain update")
    where = scope or scope_of(old.payload)
    kept = {k: v for k, v in old.payload.items() if k not in _NOT_INHERITED}
    successor = add(new_id, text, vector, where, {**kept, **metadata}, actor_id=actor_id,
                    role=role, said_at=said_at)
    if successor.record is not None:
        successor.record.payload["supersedes"] = old.id
    # the hooks hear one UPDATE (the close's event names the successor), not an ADD as well
    successor = Change("ADD", successor.record, successor.entry, successor.event, where, new=new,
                       announced=False)
    return [successor, close(old.id, old, successor=successor, actor_id=actor_id, role=role,
                             scope=where)]


def past(memory_id: str, text: str, vector: list[float], scope: Scope, metadata: dict[str, Any],
         said_at: str | None, later: Record, *, actor_id: str | None = None,
         role: str | None = None) -> Change:
    """A fact said before the stored version `later` began (an older conversation imported
    after newer ones): added as history, valid from `said_at` until `later` began, and linked
    to it (``superseded_by``); what holds now does not change."""
    change = add(memory_id, text, vector, scope, metadata, actor_id=actor_id, role=role,
                 said_at=said_at)
    assert change.record is not None
    until = later.payload.get("valid_from") or later.payload.get("created_at") or now_iso()
    change.record.payload.update(timeline.closing_fields(
        change.record.payload, until, change.entry.entry_id, later.id))
    return change


def unchanged(memory_id: str, text: str) -> MemoryEvent:
    """The event for a memory the call left as it was."""
    return MemoryEvent(id=memory_id, event="NONE", memory=text)


# Fields a successor does not take over from the version it replaces.
_NOT_INHERITED = frozenset({"text", "hash", "created_at", "updated_at", "actor_id", "role",
                            "user_id", "agent_id", "run_id", *timeline.FIELDS})


class Writer:
    """Applies changes: history pending → vector store → history committed (`journal`), the
    keyword side updated, then the after-change hooks. Call under the engine's write lock."""

    def __init__(self, store: VectorStore, history: HistoryStore, searcher: Searcher) -> None:
        self.store, self.history, self.searcher = store, history, searcher
        self.inserts = INSERT in store.capabilities and isinstance(store, Inserts)

    def apply(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        deletes = [c.memory_id for c in changes if c.kind == "DELETE"]
        fresh: list[Record] = []  # ids checked free: the store may skip replace's read
        replace: list[Record] = []
        closes: list[Record] = []  # after the successors: see journal.settle
        for c in changes:
            if c.record is not None:
                (closes if c.closes else fresh if c.new and self.inserts else replace
                 ).append(c.record)
        self.write([c.entry for c in changes], insert=fresh, upsert=replace, closes=closes,
                   delete=deletes)

    def write(self, entries: Sequence[HistoryEntry], *, insert: Sequence[Record] = (),
              upsert: Sequence[Record] = (), closes: Sequence[Record] = (),
              delete: Sequence[str] = ()) -> None:
        """The one journaled write every change goes through (`apply`, and `memstack import`
        with histories of its own): history pending, then the store (inserts, upserts, the
        records that close a version in a call of their own after them, deletes), history
        committed; then the keyword side and vector cache."""

        def write() -> None:
            if insert:
                self.store.insert(insert)  # type: ignore[attr-defined]
            if upsert:
                self.store.upsert(upsert)
            if closes:
                self.store.upsert(closes)
            if delete:
                self.store.delete(delete)

        journal.apply(list(entries), self.store, self.history, write)
        self.searcher.apply([*insert, *upsert, *closes], delete)

    @staticmethod
    def announce(changes: Sequence[Change]) -> None:
        """Tell the after-change hooks (outside the write lock: observers may be slow)."""
        for c in changes:
            if c.announced:
                run_hook("memstack_after_change", ChangeContext(event=c.event, scope=c.scope))
