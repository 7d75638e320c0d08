"""memstack-server: search and add through HTTP vs the same `Memory` in-process, in one run.

Both sides use one PostgreSQL database (embedded, pgvector + postgres history) and the same
embedder, so they read and write the same memories: the in-process `Memory` lives in this
process, the server is a real `memstack serve` process on a loopback port. Per concurrency
level (1, 8, 32 threads, bounded loops) the two sides take turns, round by round, so load bursts
on a shared machine hit both alike. Then the server restarts with 2 workers and the concurrency-8
search throughput is measured again (the same loop, right after a 1-worker run).

Targets (issue 15): HTTP search p50 at concurrency 1 ≤ 1.2× in-process; 0 errors at
concurrency 32; 2 workers at concurrency 8 ≥ 1.5× one worker's throughput.

    python benchmarks/server.py                    # MiniLM (the embedded default's model)
    python benchmarks/server.py --embedder hashing # no model: the HTTP overhead on its own
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, machine, offline, table

offline()

TOPICS = ["tea", "hiking", "jazz", "Lisbon", "chess", "sourdough", "cycling", "Kyoto", "opera",
          "gardening", "sushi", "marathons", "poetry", "sailing", "pottery", "birdwatching"]


def corpus(n: int) -> list[str]:
    return [f"The user mentioned {TOPICS[i % len(TOPICS)]} in conversation {i}, "
            f"saying it matters to them ({TOPICS[(i * 7) % len(TOPICS)]} too)" for i in range(n)]


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else float("nan")


def run_threads(concurrency: int, total: int, op: Callable[[int], None]) -> dict[str, Any]:
    """`total` calls of `op(i)` spread over `concurrency` threads: latencies, errors, rate."""
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                op(i)
            except Exception as exc:  # counted, reported
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"n": len(lat), "errors": len(errors), "error_samples": errors[:3],
            "p50_ms": pct(lat, 0.5) * 1000, "p95_ms": pct(lat, 0.95) * 1000,
            "per_s": len(lat) / wall, "_lat": lat, "_wall": wall}


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    lat = [x for p in parts for x in p["_lat"]]
    wall = sum(p["_wall"] for p in parts)
    return {"n": len(lat), "errors": sum(p["errors"] for p in parts),
            "error_samples": [e for p in parts for e in p["error_samples"]][:3],
            "p50_ms": pct(lat, 0.5) * 1000, "p95_ms": pct(lat, 0.95) * 1000,
            "per_s": len(lat) / wall if wall else 0.0}


class HttpSide:
    """One httpx client per thread (as separate app servers would have)."""

    def __init__(self, url: str, key: str) -> None:
        import httpx

        self.url, self.key = url, key
        self.local = threading.local()
        self.httpx = httpx

    def client(self) -> Any:
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = self.httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=120)
        return c

    def search(self, q: str, user: str) -> None:
        r = self.client().post("/v1/search", json={"query": q, "user_id": user, "limit": 5})
        if r.status_code != 200 or len(r.json()["results"]) != 5:
            raise RuntimeError(f"search {r.status_code}: {r.text[:150]}")

    def add(self, text: str, user: str) -> None:
        r = self.client().post("/v1/memories", json={"messages": text, "user_id": user,
                                                     "infer": False})
        if r.status_code != 200:
            raise RuntimeError(f"add {r.status_code}: {r.text[:150]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    ap.add_argument("--memories", type=int, default=1000, help="stored before measuring")
    ap.add_argument("--searches", type=int, default=64, help="per side, round and level")
    ap.add_argument("--adds", type=int, default=32, help="per side, round and level")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--threads", type=int, default=None,
                    help="ONNX Runtime threads per process for the MiniLM embedder (default: the "
                    "embedder's own, which lets one process use every core)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    from memstack_pgvector.testing import embedded_postgres
    from memstack_server.keys import KeyStore
    from memstack_server.testing import ServerProcess

    from memstack import Memory

    tmp = Path(tempfile.mkdtemp(prefix="memstack-bench-server-"))
    os.environ["MEMSTACK_HOME"] = str(tmp / "home")
    embedder = {"provider": "sentence-transformers"} if args.embedder == "minilm" else \
        {"provider": "hashing", "config": {"dimension": 384}}
    if args.threads is not None and args.embedder == "minilm":
        embedder["config"] = {"threads": args.threads}
    out: dict[str, Any] = {"machine": machine(), "embedder": args.embedder, "threads": args.threads,
                           "memories": args.memories, "uptime_before": _uptime()}
    with embedded_postgres() as dsn:
        pg = {"dsn": dsn, "schema": "bench"}
        config: dict[str, Any] = {
            "vector_store": {"provider": "pgvector", "config": pg},
            "history_store": {"provider": "postgres", "config": pg},
            "embedder": embedder,
            "server": {"limits": {"rate_per_second": 1e6, "burst": 1_000_000},
                       "log_level": "warning"},
        }
        memory_config = {k: v for k, v in config.items() if k != "server"}
        memory = Memory(memory_config)
        user = "bench-user"
        memory.add(corpus(args.memories), user_id=user, infer=False)
        keys = KeyStore(memory_config)
        raw, _ = keys.create("bench", admin=True)
        queries = [f"what does the user think about {t}?" for t in TOPICS]

        def measure(workers: int, only_search_at: int | None = None) -> dict[str, Any]:
            res: dict[str, Any] = {}
            with ServerProcess(config, tmp, name=f"w{workers}", workers=workers,
                               startup_timeout=300) as server:
                http = HttpSide(server.url, raw)
                for lvl in ([only_search_at] if only_search_at else levels):
                    parts: dict[str, list[dict[str, Any]]] = {}
                    for _round in range(args.rounds):
                        tag = uuid.uuid4().hex[:6]
                        sides: dict[str, Callable[[int], None]] = {
                            "search_inproc": lambda i: _check(memory.search(
                                queries[i % len(queries)], user_id=user, limit=5)),
                            "search_http": lambda i: http.search(queries[i % len(queries)],
                                                                 user),
                        }
                        if not only_search_at:
                            sides["add_inproc"] = lambda i, t=tag, u=f"adds-{lvl}": memory.add(
                                f"in-process note {t}-{i}", user_id=u, infer=False)
                            sides["add_http"] = lambda i, t=tag, u=f"adds-{lvl}": http.add(
                                f"http note {t}-{i}", u)
                        for name, op in sides.items():  # take turns within each round
                            n = args.searches if name.startswith("search") else args.adds
                            n = max(n, lvl * 2) if lvl > 1 else n
                            parts.setdefault(name, []).append(run_threads(lvl, n, op))
                    res[str(lvl)] = {k: merge(v) for k, v in parts.items()}
            return res

        out["one_worker"] = measure(1)
        w2 = measure(2, only_search_at=8)
        w1 = measure(1, only_search_at=8)  # right after, same conditions
        out["workers_c8"] = {"1": w1["8"]["search_http"], "2": w2["8"]["search_http"]}
        out["uptime_after"] = _uptime()
        keys.close()
        memory.close()
    shutil.rmtree(tmp, ignore_errors=True)
    _report(out, args.json)
    return 0


def _check(result: Any) -> None:
    if len(result.results) != 5:
        raise RuntimeError("in-process search returned fewer than 5 results")


def _uptime() -> str:
    try:
        import subprocess

        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def _report(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(out)
        return
    rows = []
    for lvl, sides in out["one_worker"].items():
        for op in ("search", "add"):
            a, b = sides[f"{op}_inproc"], sides[f"{op}_http"]
            rows.append([op, lvl, f"{a['p50_ms']:.1f} / {a['p95_ms']:.1f}",
                         f"{b['p50_ms']:.1f} / {b['p95_ms']:.1f}",
                         f"{b['p50_ms'] / a['p50_ms']:.2f}",
                         f"{a['per_s']:.0f} / {b['per_s']:.0f}", f"{a['errors']} / {b['errors']}"])
    print(f"embedder {out['embedder']}, {out['memories']} memories, pgvector + postgres history")
    print(f"load before: {out['uptime_before']}")
    print(table(["op", "concurrency", "in-process p50 / p95 ms", "HTTP p50 / p95 ms",
                 "HTTP / in-process p50", "in-process / HTTP per s", "errors in / HTTP"], rows))
    w = out["workers_c8"]
    print(f"\nsearch at concurrency 8: 1 worker {w['1']['per_s']:.0f}/s, 2 workers "
          f"{w['2']['per_s']:.0f}/s ({w['2']['per_s'] / w['1']['per_s']:.2f}x); errors "
          f"{w['1']['errors']} / {w['2']['errors']}")
    print(f"load after: {out['uptime_after']}")
    print(json.dumps({k: v for k, v in out.items() if k not in ("one_worker", "workers_c8")}))


if __name__ == "__main__":
    sys.exit(main())
