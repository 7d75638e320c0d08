"""Child process for the crash test: bulk-import N memories, acknowledging each committed batch.

Usage: python import_child.py CONFIG.json N BATCH ACK_FILE [CRASH_POINT BATCH_NO]
An id is written to ACK_FILE (and fsynced) only after the `add` that stored it returned.
CRASH_POINT makes the process die (os._exit, like SIGKILL: no cleanup) inside the two-phase
write of batch BATCH_NO: "after_begin" (history pending, store untouched) or "after_store"
(store written, history not yet committed).
"""

from __future__ import annotations

import json
import os
import sys

from memstack import Memory


def texts(n: int) -> list[str]:
    return [f"imported memory number {i} about topic {i % 97}" for i in range(n)]


def arm(memory: Memory, point: str, batch_no: int) -> None:
    """Die at `point` during the `batch_no`-th write (0-based): `upsert`, or `insert` on a store
    that declares it (new memories are written with it)."""
    calls = {"n": 0}

    def dying(write):  # type: ignore[no-untyped-def]
        def wrapped(records):  # type: ignore[no-untyped-def]
            if point == "after_begin" and calls["n"] == batch_no:
                os._exit(9)
            write(records)
            if point == "after_store" and calls["n"] == batch_no:
                os._exit(9)
            calls["n"] += 1
        return wrapped

    for name in ("upsert", "insert"):
        if hasattr(memory.store, name):
            setattr(memory.store, name, dying(getattr(memory.store, name)))


def main() -> None:
    config_path, n, batch, ack_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(config_path) as f:
        config = json.load(f)
    items = texts(n)
    crash_point = sys.argv[5] if len(sys.argv) > 5 else None
    crash_batch = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    with Memory(config) as memory, open(ack_path, "a") as ack:
        if crash_point:
            arm(memory, crash_point, crash_batch)
        print("started", flush=True)
        for i in range(0, n, batch):
            result = memory.add(items[i:i + batch], user_id="importer", infer=False)
            ack.write("".join(f"{e.id}\n" for e in result.results))
            ack.flush()
            os.fsync(ack.fileno())
    print("finished", flush=True)


if __name__ == "__main__":
    main()
