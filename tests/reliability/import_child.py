"""Child process for the crash test: bulk-import N memories, acknowledging each committed batch.

Usage: python import_child.py CONFIG.json N BATCH ACK_FILE
An id is written to ACK_FILE (and fsynced) only after the `add` that stored it returned.
"""

from __future__ import annotations

import json
import os
import sys

from memstack import Memory


def texts(n: int) -> list[str]:
    return [f"imported memory number {i} about topic {i % 97}" for i in range(n)]


def main() -> None:
    config_path, n, batch, ack_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(config_path) as f:
        config = json.load(f)
    items = texts(n)
    with Memory(config) as memory, open(ack_path, "a") as ack:
        print("started", flush=True)
        for i in range(0, n, batch):
            result = memory.add(items[i:i + batch], user_id="importer", infer=False)
            ack.write("".join(f"{e.id}\n" for e in result.results))
            ack.flush()
            os.fsync(ack.fileno())
    print("finished", flush=True)


if __name__ == "__main__":
    main()
