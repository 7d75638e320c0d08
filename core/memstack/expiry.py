"""Expired memories: `Memory.prune` (and `memstack prune`) deletes them through the one writer.

A memory added with ``expires_at`` is hidden from search and lists once that moment passed
(`memstack.timeline.view_filter`); pruning removes it from the store for good (its history
stays, as for every delete). Running it again finds nothing: it is idempotent.
"""

from __future__ import annotations

from memstack import changes, timeline
from memstack.changes import Writer
from memstack.locking import WriteLock
from memstack.models import MemoryEvent
from memstack.protocols import VectorStore


def prune(store: VectorStore, writer: Writer, lock: WriteLock,
          batch_size: int) -> list[MemoryEvent]:
    """Delete every memory, in every scope, whose ``expires_at`` is past; the DELETE events."""
    events: list[MemoryEvent] = []
    while True:
        with lock:
            batch = store.list(filters=timeline.expired_filter(), limit=batch_size)
            done = [changes.delete(r.id, r.payload) for r in batch]
            writer.apply(done)
        writer.announce(done)
        events.extend(c.event for c in done)
        if not done:
            return events
