"""Reading one memory by id for `Memory.get` / `update` / `delete` / `history`, within a scope."""

from __future__ import annotations

from memstack.errors import InvalidInput, MemoryNotFound
from memstack.models import Record, Scope
from memstack.protocols import VectorStore


def fetch(store: VectorStore, memory_id: str, scope: Scope, *,
          with_vectors: bool = False) -> Record | None:
    """The record, or None when missing or (if a scope is given) outside that scope."""
    if not isinstance(memory_id, str) or not memory_id:
        raise InvalidInput(f"memory id must be a non-empty string, got {memory_id!r}")
    records = store.get([memory_id], with_vectors=with_vectors)
    if not records:
        return None
    payload = records[0].payload
    if any(payload.get(k) != v for k, v in scope.as_filter().items()):
        return None
    return records[0]


def must_fetch(store: VectorStore, memory_id: str, scope: Scope, *,
               with_vectors: bool = False) -> Record:
    """As `fetch`, but a missing memory is `MemoryNotFound` naming the id and the scope."""
    record = fetch(store, memory_id, scope, with_vectors=with_vectors)
    if record is None:
        given = scope.as_filter()
        where = " in scope " + ", ".join(f"{k}={v!r}" for k, v in given.items()) \
            if given else ""
        raise MemoryNotFound(f"no memory with id {memory_id!r}{where}")
    return record
