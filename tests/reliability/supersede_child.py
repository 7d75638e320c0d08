"""Child process for the supersession crash test (issue 20).

Usage: python supersede_child.py CONFIG.json POINT
Adds "Maya lives in Lisbon" (acknowledged on stdout), then lets the scripted LLM supersede it
with "Maya lives in Porto" and dies (os._exit, like SIGKILL: no cleanup) at POINT of that
batch's store writes: "before" (history pending, store untouched), "between" (the successor
written, the old version not yet closed) or "after" (both written, history not committed).
"""

from __future__ import annotations

import json
import os
import sys

from memstack import Memory


def arm(memory: Memory, point: str) -> None:
    calls = {"n": 0}

    def dying(write):  # type: ignore[no-untyped-def]
        def wrapped(records):  # type: ignore[no-untyped-def]
            if point == "before":
                os._exit(9)
            write(records)
            calls["n"] += 1
            if (point, calls["n"]) in (("between", 1), ("after", 2)):
                os._exit(9)
        return wrapped

    for name in ("upsert", "insert"):
        if hasattr(memory.store, name):
            setattr(memory.store, name, dying(getattr(memory.store, name)))


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    with Memory(config) as memory:
        first = memory.add("Maya lives in Lisbon", user_id="maya", infer=False,
                           timestamp="2023-01-01")
        print(json.dumps({"acked": first.results[0].id}), flush=True)
        arm(memory, sys.argv[2])
        memory.add("I moved to Porto", user_id="maya", timestamp="2025-01-01")
    print("finished", flush=True)


if __name__ == "__main__":
    main()
