"""Two-phase writes between the vector store and the history store, and crash recovery.

Every change is first written to history as *pending*, then applied to the vector store, then
marked committed. A crash in between leaves pending rows; `recover` settles each one by looking
at the vector store: if the store shows the change, the row is committed, otherwise discarded.
So after recovery the two always agree, and nothing acknowledged (committed) is ever lost.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from memstack.models import HistoryEntry
from memstack.protocols import HistoryStore, VectorStore

REMOTE_GRACE_SECONDS = 600.0


def _start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


WRITER = f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def current_writer() -> str:
    """Identifies this process (host, pid, start time); recomputed after fork."""
    global WRITER
    pid = os.getpid()
    if WRITER.split(":")[1] != str(pid):
        WRITER = f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"
    return WRITER


def writer_is_dead(writer: str, created_at: str) -> bool:
    """True when the process that wrote a pending row can no longer finish it."""
    try:
        host, pid_s, ticks = writer.rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return True
    if host != socket.gethostname():
        try:
            age = time.time() - datetime.fromisoformat(created_at).timestamp()
        except ValueError:
            return True
        return age > REMOTE_GRACE_SECONDS
    if pid == os.getpid() and ticks == _start_ticks(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _start_ticks(pid) != ticks


def new_entry(memory_id: str, event: str, *, old: str | None = None, new: str | None = None,
              old_hash: str | None = None, new_hash: str | None = None,
              actor_id: str | None = None, role: str | None = None,
              created_at: str | None = None) -> HistoryEntry:
    return HistoryEntry.model_construct(
        entry_id=uuid.uuid4().hex, memory_id=memory_id, event=event, old_memory=old,
        new_memory=new, old_hash=old_hash, new_hash=new_hash, actor_id=actor_id, role=role,
        created_at=created_at or datetime.now(UTC).isoformat(timespec="microseconds"),
        writer=current_writer(), committed=False,
    )


def settle(entries: Sequence[HistoryEntry], store: VectorStore, history: HistoryStore) -> None:
    """Commit the entries the store reflects, discard the others.

    A supersession (a successor's ADD and its predecessor's close, one batch, successor written
    first) is settled as one: a close counts as done when the closed payload names this entry
    (``closed_by``); a successor whose predecessor was not closed is removed from the store
    again, so exactly one version stays current."""
    if not entries:
        return
    ids = list(dict.fromkeys(e.memory_id for e in entries))
    present = {r.id: r.payload for r in store.get(ids)}
    linked = [p["supersedes"] for p in present.values()
              if isinstance(p.get("supersedes"), str) and p["supersedes"] not in present]
    if linked:
        present.update((r.id, r.payload) for r in store.get(linked))
    keep: list[str] = []
    drop: list[str] = []
    undo: list[str] = []
    for e in entries:
        payload = present.get(e.memory_id)
        if payload is not None and payload.get("closed_by") == e.entry_id:
            done = True
        elif e.event == "DELETE":
            done = payload is None
        else:
            done = payload is not None and payload.get("hash") == e.new_hash
            before = present.get(payload.get("supersedes", "")) if done and payload else None
            if e.event == "ADD" and before is not None \
                    and before.get("superseded_by") != e.memory_id:
                done = False  # the predecessor is still current: take the successor back
                undo.append(e.memory_id)
        (keep if done else drop).append(e.entry_id)
    if undo:
        store.delete(undo)
    if keep:
        history.commit(keep)
    if drop:
        history.discard(drop)


def apply(entries: Sequence[HistoryEntry], store: VectorStore, history: HistoryStore,
          change: Callable[[], None]) -> None:
    """Run `change` (the vector-store writes) between the two phases of `entries`."""
    history.begin(entries)
    try:
        change()
    except BaseException:
        settle(entries, store, history)
        raise
    history.commit([e.entry_id for e in entries])


def recover(store: VectorStore, history: HistoryStore) -> int:
    """Settle pending rows left by writers that died; returns how many were settled."""
    stale = [e for e in history.pending() if writer_is_dead(e.writer, e.created_at)]
    # one batch's rows share writer and clock reading: keep them in one settle call
    stale.sort(key=lambda e: (e.writer, e.created_at))
    start = 0
    while start < len(stale):
        end = min(start + 500, len(stale))
        while end < len(stale) and (stale[end].writer, stale[end].created_at) == \
                (stale[end - 1].writer, stale[end - 1].created_at):
            end += 1
        settle(stale[start:end], store, history)
        start = end
    return len(stale)
