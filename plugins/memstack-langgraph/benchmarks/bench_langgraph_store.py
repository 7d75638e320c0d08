"""Per-call latency of MemstackStore next to LangGraph's InMemoryStore using the same embedder.

    python plugins/memstack-langgraph/benchmarks/bench_langgraph_store.py --engine default -n 300

Engines: `fast` (hashing embedder, in-process store), `default` (SQLite on disk + MiniLM).
Everything runs in a temporary MEMSTACK_HOME. Prints medians and p95 in milliseconds and the
ratio to InMemoryStore (which keeps everything in a dict and scans it: the floor, not a peer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TOPICS = ["tea", "coffee", "bikes", "hiking", "piano", "python", "paris", "cats", "chess", "rain"]


def config(engine: str, home: str) -> dict[str, Any]:
    if engine == "fast":
        return {"vector_store": {"provider": "memory"},
                "embedder": {"provider": "hashing", "config": {"dimension": 64}},
                "history_store": {"provider": "sqlite",
                                  "config": {"path": os.path.join(home, "h.db")}}}
    return {}


def ns(i: int) -> tuple[str, str]:
    return (f"user{i % 7}", "memories")


def timed(fn: Callable[[int], Any], n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.95))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["fast", "default"], default="fast")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="memstack-lg-bench-")
    os.environ["MEMSTACK_HOME"] = home

    from langgraph.store.memory import InMemoryStore
    from memstack_langgraph import MemstackStore

    from memstack import Memory

    memory = Memory(config(args.engine, home))
    ours = MemstackStore(memory)
    emb = memory.embedder
    ref = InMemoryStore(index={"dims": emb.dimension,
                               "embed": lambda texts: emb.embed(texts, kind="document")})

    def value(i: int) -> dict[str, Any]:
        return {"text": f"user {i % 7} likes {TOPICS[i % 10]} and {TOPICS[(i * 3) % 10]}",
                "n": i}

    rows = []
    for name, store in (("InMemoryStore", ref), ("MemstackStore", ours)):
        res = {
            "put": timed(lambda i, s=store: s.put(ns(i), f"k{i}", value(i)), args.n),
            "get": timed(lambda i, s=store: s.get(ns(i), f"k{i}"), args.n),
            "search(query)": timed(lambda i, s=store: s.search(
                (f"user{i % 7}",), query=f"who likes {TOPICS[i % 10]}?", limit=5), args.n),
            "search(filter)": timed(lambda i, s=store: s.search(
                (), filter={"n": {"$gte": i}}, limit=5), args.n),
            "list_namespaces": timed(lambda i, s=store: s.list_namespaces(), 20),
        }
        rows.append((name, {k: summary(v) for k, v in res.items()}))
    print(f"engine={args.engine} n={args.n} load={os.getloadavg()[0]:.2f}")
    print(f"{'operation':<16} {'InMemoryStore p50/p95':>22} {'MemstackStore p50/p95':>22} "
          f"{'ratio p50':>9}")
    for op in rows[0][1]:
        a, b = rows[0][1][op], rows[1][1][op]
        print(f"{op:<16} {a[0]:>10.2f}/{a[1]:<10.2f} {b[0]:>10.2f}/{b[1]:<10.2f} "
              f"{b[0] / a[0]:>9.1f}")
    ours.close()
    memory.close()


if __name__ == "__main__":
    main()
