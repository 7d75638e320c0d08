"""Memory of the engine's in-process keyword index at 10,000 scopes (issue 19).

Stores without their own keyword search get a BM25 index kept by the engine, one partition per
searched scope, read from the store the first time that scope is searched. This measures how the
process's RSS grows with the number of scopes searched (100, 1,000, 10,000 by default), each
scope searched once, for three bounds: `partitions` (the old bound, at most 1,024 scopes held
whatever their size), `budget` (the default `search.keyword_index_budget`, entries held) and,
with `--unbounded`, nothing dropped. Then the search time in a scope the index holds against a
scope it must read again. Each bound runs in its own process, so RSS growth is its own.

The store is `ScopeStore`: it answers `list(filters=scope)` by building the scope's records on
the fly (nothing is held by the store, so the growth is the index's alone), deterministically:
scope s has `--per-scope` memories (default 100) whose texts are a window of consecutive LoCoMo
dialog turns (../shared/data/locomo, plain form, as benchmarks/scale.py uses them), laid out by
the engine's own `build_payload` (hash, times, validity fields, a `kind` metadata key) and passed
through a JSON round trip, as a store that deserialises hands out fresh objects. Queries are
two words of one of the scope's own texts. The vector cache (`memstack.vector_cache`, the other
per-process cache of hybrid search) is measured full: 20,000 vectors of 384 dimensions.

    .venv/bin/python benchmarks/keyword_memory.py                      # 10,000 scopes of 100
    .venv/bin/python benchmarks/keyword_memory.py --scopes 1000 --json
    .venv/bin/python benchmarks/keyword_memory.py --per-scope 1000 --scopes 2000 --checkpoints 2000
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_LOCOMO, emit_json, machine, offline, rss_mb, table

offline()

BOUNDS = ("partitions", "budget", "unbounded")
_NS = uuid.UUID("0b7e3c52-6a0e-4f7e-9d3c-1f1f7a3c2b10")


def load_texts(path: Path) -> list[str]:
    """The LoCoMo dialog turns in plain form ("Speaker: words")."""
    import locomo

    return [locomo.document(t, "plain") for c in locomo.load(path) for t in c.turns]


class ScopeStore:
    """A read-only store of `scopes` × `per_scope` memories that holds none of them: `list`
    builds a scope's records on demand, the same ones every time."""

    capabilities: frozenset[str] = frozenset()

    def __init__(self, texts: Sequence[str], scopes: int, per_scope: int) -> None:
        self.texts, self.scopes, self.per_scope = list(texts), scopes, per_scope
        self.reads, self.seconds = 0, 0.0  # list calls, and the time spent building records

    def user(self, s: int) -> str:
        return f"user-{s:05d}"

    def text(self, s: int, i: int) -> str:
        return self.texts[(s * 7919 + i) % len(self.texts)]  # a window of consecutive turns

    def records(self, s: int, start: int = 0, stop: int | None = None) -> list[Any]:
        from memstack.models import Record, Scope
        from memstack.payload import build_payload

        out = []
        for i in range(start, min(self.per_scope, self.per_scope if stop is None else stop)):
            payload = build_payload(self.text(s, i), Scope(user_id=self.user(s)),
                                    {"kind": "abcd"[i % 4]},
                                    created_at=f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}"
                                               ".000000+00:00")
            out.append(Record(id=str(uuid.uuid5(_NS, f"{s}/{i}")),
                              payload=json.loads(json.dumps(payload))))
        return out

    def list(self, *, filters: Any = None, limit: int | None = None,
             offset: int = 0) -> list[Any]:
        from memstack.keyword_index import scope_key

        key, _ = scope_key(filters)
        users = [v for f, v in key if f == "user_id"]
        if len(users) != 1 or not users[0].startswith("user-") or len(key) != 1:
            raise ValueError(f"ScopeStore lists one user_id scope; given {key!r}")
        self.reads += 1
        t0 = time.perf_counter()
        stop = None if limit is None else offset + limit
        out = self.records(int(users[0][5:]), offset, stop)
        self.seconds += time.perf_counter() - t0
        return out


def query_of(store: ScopeStore, s: int, rng: random.Random) -> str:
    """Two indexed words (not stop words) of one of the scope's own texts: the search has hits
    (a query of stop words only returns before reading the scope)."""
    from memstack.keyword_index import tokenize

    for _ in range(50):
        text = store.text(s, rng.randrange(store.per_scope)).split(":", 1)[-1]
        words = [w for w in text.split() if tokenize(w)]
        if words:
            return " ".join(rng.sample(words, min(2, len(words))))
    return "weekend plans"


def make_index(bound: str, budget: int | None) -> Any:
    from memstack.keyword_index import DEFAULT_BUDGET, KeywordIndex

    if bound == "partitions":
        return KeywordIndex(max_partitions=1024, budget=None)
    if bound == "budget":
        return KeywordIndex(budget=budget or DEFAULT_BUDGET)
    return KeywordIndex(budget=None)


def measure(bound: str, store: ScopeStore, checkpoints: Sequence[int], *,
            budget: int | None = None, timing: int = 200, seed: int = 1) -> dict[str, Any]:
    """Search every scope once in order, noting RSS growth and what the index holds at each
    checkpoint; then time searches in held scopes and in scopes read again."""
    from memstack.filters import parse_filter

    rng = random.Random(seed)
    ix = make_index(bound, budget)
    ix.sync(store)
    gc.collect()
    base = rss_mb()
    rows, start = [], time.perf_counter()
    for s in range(max(checkpoints)):
        node = parse_filter({"user_id": store.user(s)})
        ix.search(query_of(store, s, rng), limit=40, filters=node)
        if s + 1 in checkpoints:
            gc.collect()
            rows.append({"scopes": s + 1, "rss_growth_mb": round(rss_mb() - base, 1),
                         "held": ix.held, "scopes_held": len(ix.partitions()),
                         "seconds": round(time.perf_counter() - start, 1)})
    held = [dict(k)["user_id"] for k in ix.partitions()]
    gone = [s for s in range(max(checkpoints)) if store.user(s) not in set(held)]
    fresh, loaded, in_store = [], [], []
    for s in rng.sample(gone, min(timing, len(gone))):
        node = parse_filter({"user_id": store.user(s)})
        query = query_of(store, s, rng)
        t0, listing = time.perf_counter(), store.seconds
        ix.search(query, limit=40, filters=node)  # read from the store, then searched
        t1 = time.perf_counter()
        in_store.append(store.seconds - listing)
        ix.search(query, limit=40, filters=node)  # now held
        t2 = time.perf_counter()
        fresh.append(t1 - t0)
        loaded.append(t2 - t1)
    return {"bound": bound, "budget": getattr(ix, "budget", None), "per_scope": store.per_scope,
            "rows": rows, "fresh_scope_ms": _ms(fresh), "loaded_scope_ms": _ms(loaded),
            "fresh_scope_store_ms": _ms(in_store),
            "fresh_scope_index_ms": _ms([f - s for f, s in zip(fresh, in_store, strict=True)]),
            "load_1min": machine()["load_1min"]}


def _ms(samples: list[float]) -> float | None:
    return round(statistics.median(samples) * 1000, 2) if samples else None


def measure_vector_cache(store: ScopeStore, n: int = 20_000, dim: int = 384) -> dict[str, Any]:
    """RSS growth of a full `VectorCache` (its default bound) of memories like the above."""
    from memstack.models import Record
    from memstack.vector_cache import VectorCache

    rng = random.Random(3)
    cache = VectorCache(max_vectors=n)
    gc.collect()
    base = rss_mb()
    s = 0
    while len(cache) < n:
        recs = [Record(id=r.id, payload=r.payload, vector=[rng.random() for _ in range(dim)])
                for r in store.records(s)]
        cache.remember(recs, [])
        s += 1
    gc.collect()
    return {"bound": "vector-cache", "vectors": len(cache), "dim": dim,
            "rss_growth_mb": round(rss_mb() - base, 1), "load_1min": machine()["load_1min"]}


def child(args: argparse.Namespace) -> dict[str, Any]:
    store = ScopeStore(load_texts(Path(args.data)), args.scopes, args.per_scope)
    if args.child == "vector-cache":
        return measure_vector_cache(store)
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if int(c) <= args.scopes})
    return measure(args.child, store, checkpoints, budget=args.budget, timing=args.timing)


def render(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        for c in r.get("rows", []):
            rows.append([r["bound"], r["per_scope"], f"{c['scopes']:,}", f"{c['held']:,}",
                         f"{c['scopes_held']:,}", f"{c['rss_growth_mb']:.0f}",
                         f"{c['seconds']:.0f}"])
    out = [table(["bound", "memories/scope", "scopes searched", "entries held", "scopes held",
                  "RSS growth MB", "s"], rows), ""]
    out.append(table(
        ["bound", "search, scope held (ms p50)", "search, scope read again (ms p50)",
         "of which the store's list", "of which the index", "load"],
        [[r["bound"], r["loaded_scope_ms"], r["fresh_scope_ms"], r["fresh_scope_store_ms"],
          r["fresh_scope_index_ms"], r["load_1min"]] for r in results if "rows" in r]))
    for r in results:
        if r["bound"] == "vector-cache":
            out.append(f"\nvector cache full ({r['vectors']:,} vectors of {r['dim']} d, payloads "
                       f"as above): RSS growth {r['rss_growth_mb']} MB (load {r['load_1min']})")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scopes", type=int, default=10_000)
    parser.add_argument("--per-scope", type=int, default=100)
    parser.add_argument("--checkpoints", default="100,1000,10000",
                        help="scopes searched at which RSS is read (default: %(default)s)")
    parser.add_argument("--bounds", default="partitions,budget",
                        help=f"any of {','.join(BOUNDS)} (default: %(default)s)")
    parser.add_argument("--unbounded", action="store_true", help="add the bound 'unbounded'")
    parser.add_argument("--budget", type=int, default=None,
                        help="entries for the 'budget' bound (default: the config default)")
    parser.add_argument("--timing", type=int, default=200,
                        help="scopes timed for held / read-again search (default: %(default)s)")
    parser.add_argument("--no-vector-cache", action="store_true")
    parser.add_argument("--data", default=str(DEFAULT_LOCOMO))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=[*BOUNDS, "vector-cache"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        emit_json(child(args))
        return 0
    bounds = [b for b in args.bounds.split(",") if b] + (["unbounded"] if args.unbounded else [])
    if not args.no_vector_cache:
        bounds.append("vector-cache")
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    results = []
    for bound in bounds:
        cmd = [sys.executable, __file__, "--child", bound, "--scopes", str(args.scopes),
               "--per-scope", str(args.per_scope), "--checkpoints", args.checkpoints,
               "--timing", str(args.timing), "--data", args.data]
        if args.budget:
            cmd += ["--budget", str(args.budget)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout))
        log(json.dumps(results[-1]))
    report = {"benchmark": "keyword_memory", "machine": machine(), "scopes": args.scopes,
              "per_scope": args.per_scope, "results": results}
    if args.json:
        emit_json(report)
    else:
        print(render(results))
        print(f"\nmachine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
