"""Load run: several MCP clients on one `memstack mcp --http` (hashing embedder, memory store),
each alternating add_memory and search_memories; prints calls/s, p50/p95 latency per tool,
errors, and whether every write is stored. Not a test (no timing assertions); run it by hand:

    .venv/bin/python plugins/memstack-mcp/tests/mcp_load.py [--clients 6] [--calls 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from mcp_testkit import child_env, http_client, start_http, stop, write_config


async def load(url: str, clients: int, calls: int) -> int:
    lat: dict[str, list[float]] = {"add_memory": [], "search_memories": []}
    errors = 0

    async def worker(n: int) -> None:
        nonlocal errors
        async with http_client(url) as c:
            for i in range(calls):
                for tool, args in (
                        ("add_memory", {"text": f"client {n} note {i} about topic {i % 7}"}),
                        ("search_memories", {"query": f"topic {i % 7}", "limit": 5})):
                    t = time.perf_counter()
                    r = await c.call_tool(tool, args)
                    lat[tool].append(time.perf_counter() - t)
                    errors += bool(r.is_error)

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for n in range(clients):
            tg.start_soon(worker, n)
    wall = time.perf_counter() - t0
    total = sum(len(v) for v in lat.values())
    print(f"{clients} clients x {calls} (add + search): {total} calls in {wall:.1f} s = "
          f"{total / wall:.0f} calls/s, errors {errors}")
    for tool, values in lat.items():
        values.sort()
        print(f"  {tool}: p50 {statistics.median(values) * 1000:.0f} ms, "
              f"p95 {values[int(len(values) * .95)] * 1000:.0f} ms")
    stored, cursor = 0, None
    async with http_client(url) as c:
        while True:
            r = await c.call_tool("list_memories",
                                  {"limit": 100, **({"cursor": cursor} if cursor else {})})
            assert r.structured_content is not None
            stored += len(r.structured_content["memories"])
            cursor = r.structured_content["next_cursor"]
            if not cursor:
                break
    print(f"  stored after the run: {stored} (expected {clients * calls})")
    return 0 if errors == 0 and stored == clients * calls else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="memstack-mcp-load-"))
    try:
        (tmp / "home").mkdir()
        cfg = write_config(tmp / "memstack.json", tmp)
        proc, url = start_http(["--user-id", "load", "--config", str(cfg)],
                               child_env(tmp / "home"))
        try:
            return anyio.run(load, url, args.clients, args.calls)
        finally:
            stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
