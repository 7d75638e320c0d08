"""Vector stores through memstack vs the same query through each backend's own client.

For every installed store and size N: N records of 384 dimensions (seeded random unit vectors,
a payload like the engine writes: user_id — one of 10 users —, text, hash, created_at) are
loaded through the store's `upsert` in batches. Then Q filtered searches (one user_id, ~10%
of the records, limit 10) run twice each: through memstack
(`store.query(vec, limit=10, filters=parse_filter({"user_id": u}))`) and through the raw client
doing the same search on the same collection / table. The two alternate query by query (and
which goes first alternates too), so drift of this shared machine hits both sides alike.

What each raw side is:

- chroma: a second `chromadb.PersistentClient` on the same directory (Chroma shares one engine
  per path in a process), `collection.query(query_embeddings, n_results, where={"user_id": u})`.
- pgvector: psycopg with the SQL one would write by hand:
  `SELECT id, payload, embedding <=> q FROM t WHERE payload @> '{"user_id": u}'
  ORDER BY embedding <=> q LIMIT 10`, run on the same server connection as the memstack side
  (autocommit, no prepared statements, the plugin's `hnsw.*` session settings): the connection
  is taken from the store's pool before each raw query and given back after it, untimed. Two
  connections are two server processes, and on a small shared machine one of them can be
  ±20% slower than the other for a whole run depending on where the scheduler puts it, which
  swamped the difference being measured. From 100k on (`--pg-bulk-index-from`) the load runs
  in the plugin's `bulk_load()`: the indexes are built after the rows instead of row by row.
- qdrant (local mode on disk): the store's own `QdrantClient` (local mode lets one client open a
  folder), `query_points` with a single `FieldCondition(key="user_id", match=MatchValue(u))`.
- milvus (Milvus Lite file): the store's own `MilvusClient`, `search` with the filter expression
  the plugin generates (its `Translator`), computed once per user, `output_fields=["doc"]`.
- memory: the core's pure-Python reference store; it has no raw client (memstack side only) and
  runs at 1k only, because it is brute force in Python.

Each result is also checked: memstack and raw must return the same ids, and recall@10 of the
memstack side against exact (numpy) filtered search is reported.

    .venv/bin/python benchmarks/stores.py                       # 1k, 10k, 100k; every store
    .venv/bin/python benchmarks/stores.py --sizes 1000 --stores chroma,qdrant --json
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit_json, machine, offline

offline()

DIM = 384
USERS = 10
LIMIT = 10
BATCH = 1000
TARGET_RATIO = 1.20
ALL_STORES = ("memory", "chroma", "pgvector", "qdrant", "milvus", "sqlite")
# Largest size each store runs at by default, and why (printed and kept in the JSON).
MAX_SIZE: dict[str, tuple[int, str]] = {
    "memory": (1_000, "pure-Python brute-force reference store: 1k only"),
    "milvus": (10_000, "Milvus Lite scans ~0.1 ms per record per filtered query (~1 s at 10k, "
                       "linear): ~10 s a query at 100k; --force runs it"),
}
WORDS = ("coffee", "hiking", "Berlin", "sister", "piano", "allergy", "deadline", "garden",
         "novel", "marathon", "vegan", "camera", "Lisbon", "python", "jazz", "budget")


# --- data ------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """N seeded unit vectors and the payloads that go with them (built lazily per batch)."""

    n: int
    vectors: Any  # numpy float32 (n, DIM), unit rows
    users: Any  # numpy int (n,): index into user_names
    seed: int

    @property
    def user_names(self) -> list[str]:
        return [f"user-{k}" for k in range(USERS)]

    def record_id(self, i: int) -> str:
        return f"mem-{self.seed}-{i:07d}"

    def payload(self, i: int) -> dict[str, Any]:
        text = (f"{WORDS[i % len(WORDS)]} and {WORDS[(i * 7 + 3) % len(WORDS)]} "
                f"(note {i})")
        created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i)
        return {
            "user_id": self.user_names[int(self.users[i])],
            "text": text,
            "hash": hashlib.md5(text.encode()).hexdigest(),
            "created_at": created.isoformat(),
        }

    def records(self, start: int, stop: int) -> list[Any]:
        from memstack.models import Record

        rows = self.vectors[start:stop].tolist()
        return [Record(id=self.record_id(i), vector=rows[i - start], payload=self.payload(i))
                for i in range(start, stop)]

    def batches(self, size: int = BATCH) -> Iterator[list[Any]]:
        for start in range(0, self.n, size):
            yield self.records(start, min(self.n, start + size))


def unit_vectors(n: int, rng: Any) -> Any:
    import numpy as np

    v = rng.standard_normal((n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def make_dataset(n: int, seed: int = 7) -> Dataset:
    import numpy as np

    rng = np.random.default_rng(seed)
    vectors = unit_vectors(n, rng)
    users = rng.integers(0, USERS, size=n)
    return Dataset(n=n, vectors=vectors, users=users, seed=seed)


@dataclass
class Queries:
    vectors: list[list[float]]  # what the engine hands a store: plain lists of floats
    users: list[str]


def make_queries(q: int, seed: int = 11) -> Queries:
    import numpy as np

    rng = np.random.default_rng(seed)
    vectors = unit_vectors(q, rng).tolist()
    users = [f"user-{int(k)}" for k in rng.integers(0, USERS, size=q)]
    return Queries(vectors=vectors, users=users)


def exact_top(ds: Dataset, vector: Sequence[float], user: str, k: int = LIMIT) -> list[str]:
    """The exact filtered top-k ids (numpy): ground truth for recall."""
    import numpy as np

    wanted = ds.user_names.index(user)
    rows = np.flatnonzero(ds.users == wanted)
    scores = ds.vectors[rows] @ np.asarray(vector, dtype=np.float32)
    best = rows[np.argsort(-scores, kind="stable")[:k]]
    return [ds.record_id(int(i)) for i in best]


# --- stores ----------------------------------------------------------------------------------
RawQuery = Callable[[list[float], str], Any]


@dataclass
class Bench:
    """One store opened on one collection: the memstack side, the raw side and cleanup."""

    name: str
    store: Any
    raw: RawQuery | None  # (vector, user) → the backend's own response, unconverted
    raw_ids: Callable[[Any], list[str]] = lambda res: []  # response → memstack ids
    # Entered (untimed) around each timed raw query: e.g. borrow the connection the raw side uses.
    around_raw: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
    before_load: Callable[[], None] = lambda: None
    finish_load: Callable[[], None] = lambda: None  # part of the load time
    after_load: Callable[[], None] = lambda: None  # not timed
    closers: list[Callable[[], None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        for fn in reversed(self.closers):
            try:
                fn()
            except Exception as exc:  # cleanup must not hide the results
                print(f"  ({self.name}: cleanup failed: {type(exc).__name__}: {exc})",
                      file=sys.stderr)


def installed_stores() -> list[str]:
    """Vector store providers registered in this environment, in ALL_STORES order."""
    from memstack.registry import get_registry

    names = {spec.name for spec in get_registry().providers("vector_store")}
    return [s for s in ALL_STORES if s in names]


def _build(provider: str, config: dict[str, Any]) -> Any:
    from memstack.registry import get_registry

    return get_registry().build("vector_store", provider, {"dimension": DIM, **config})


def open_memory(tmp: Path, collection: str, n: int, ctx: dict[str, Any]) -> Bench:
    return Bench("memory", _build("memory", {"collection": collection}), raw=None)


def open_chroma(tmp: Path, collection: str, n: int, ctx: dict[str, Any]) -> Bench:
    import chromadb
    from chromadb.config import Settings

    path = (tmp / "chroma").resolve()
    store = _build("chroma", {"path": str(path), "collection": collection})
    client = chromadb.PersistentClient(path=str(path),
                                       settings=Settings(anonymized_telemetry=False))
    col = client.get_collection(collection)

    def raw(vector: list[float], user: str) -> Any:
        return col.query(query_embeddings=[vector], n_results=LIMIT, where={"user_id": user},
                         include=["metadatas", "distances"])

    return Bench("chroma", store, raw, raw_ids=lambda res: list(res["ids"][0]),
                 closers=[client.close, store.close])


def open_pgvector(tmp: Path, collection: str, n: int, ctx: dict[str, Any]) -> Bench:
    import psycopg
    from pgvector import Vector
    from psycopg import sql
    from psycopg.types.json import Jsonb

    if "pg_dsn" not in ctx:  # one throwaway server for the whole run
        from memstack_pgvector.testing import EmbeddedPostgres

        server = EmbeddedPostgres(settings=ctx.get("pg_settings"))
        ctx["pg_dsn"] = server.start()
        ctx.setdefault("cleanup", []).append(server.stop)
    dsn = ctx["pg_dsn"]
    store = _build("pgvector", {"dsn": dsn, "collection": collection})
    # For setup only (ANALYZE, DROP, index builds); raw queries use the store's connection.
    conn = psycopg.connect(dsn, autocommit=True)
    table = sql.Identifier(store.schema, store.table_name)
    query = sql.SQL(
        "SELECT id, payload, embedding <=> %s AS distance FROM {t} WHERE payload @> %s"
        " ORDER BY distance LIMIT %s"
    ).format(t=table)
    scopes = {u: Jsonb({"user_id": u}) for u in (f"user-{k}" for k in range(USERS))}
    # The memstack side's own server connection (see the module docstring). The plugin's pool
    # made it with autocommit and no server-side prepared statements (psycopg's default,
    # prepare after 5 runs, lets Postgres switch to a generic plan, which can pick another
    # index), registered pgvector's adapters and set its hnsw.* session settings.
    borrowed: list[Any] = []

    @contextlib.contextmanager
    def on_store_connection() -> Iterator[None]:
        borrowed.append(store._pool.getconn())
        try:
            yield
        finally:
            store._pool.putconn(borrowed.pop())

    def raw(vector: list[float], user: str) -> Any:
        return borrowed[-1].execute(query, [Vector(vector), scopes[user], LIMIT]).fetchall()

    def analyze() -> None:
        # What autovacuum would do shortly after a bulk load; gives both sides the same plan.
        conn.execute(sql.SQL("ANALYZE {t}").format(t=table))

    def drop() -> None:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {t}").format(t=table))

    bench = Bench("pgvector", store, raw, raw_ids=lambda rows: [r[0] for r in rows],
                  around_raw=on_store_connection, after_load=analyze,
                  closers=[conn.close, drop, store.close])
    bulk_from = ctx.get("pg_bulk_index_from")
    if bulk_from is not None and n >= bulk_from:
        # Inserting into HNSW one row at a time is the slow part of a big load (~1.1-1.3 ms a
        # row on this machine at 10k, 1.7 ms at 1M; scale.py's ingest /s): the plugin's bulk
        # load drops its secondary indexes, the rows go in, then it builds them all in one pass
        # each (memory sized to the rows), as pgvector's and PostgreSQL's docs advise.
        block = store.bulk_load()
        bench.before_load = block.__enter__
        bench.finish_load = lambda: block.__exit__(None, None, None)
        bench.notes.append("loaded in the plugin's bulk_load(): indexes built after the rows "
                           "(included in load s)")
    return bench


def open_qdrant(tmp: Path, collection: str, n: int, ctx: dict[str, Any]) -> Bench:
    from qdrant_client.http import models

    store = _build("qdrant", {"path": str(tmp / "qdrant"), "collection": collection})
    store._ensure()
    client = store._client  # local mode: one client per folder, so the raw side shares it
    flt = {u: models.Filter(must=[models.FieldCondition(key="user_id",
                                                          match=models.MatchValue(value=u))])
           for u in (f"user-{k}" for k in range(USERS))}

    def raw(vector: list[float], user: str) -> Any:
        return client.query_points(collection, query=vector, limit=LIMIT, query_filter=flt[user],
                                   with_payload=True, with_vectors=False)

    def ids(res: Any) -> list[str]:
        from memstack_qdrant.payload import ID_KEY

        return [p.payload[ID_KEY] for p in res.points]

    return Bench("qdrant", store, raw, raw_ids=ids, closers=[store.close],
                 notes=["local mode on disk: exact search, filter checked per point in Python"])


def open_milvus(tmp: Path, collection: str, n: int, ctx: dict[str, Any]) -> Bench:
    from memstack_milvus.expr import Translator

    from memstack.filters import parse_filter

    store = _build("milvus", {"uri": str(tmp / "milvus.db"), "collection": collection})
    client = store._client  # Milvus Lite: one server per file; the raw side shares the client
    exprs = {u: Translator(None).build(parse_filter({"user_id": u}))
             for u in (f"user-{k}" for k in range(USERS))}

    def raw(vector: list[float], user: str) -> Any:
        return client.search(collection, data=[vector], anns_field="vector", limit=LIMIT,
                             filter=exprs[user], output_fields=["doc"],
                             search_params={"metric_type": "COSINE", "params": {}})

    def ids(res: Any) -> list[str]:
        return [_milvus_id(h) for h in res[0]]

    return Bench("milvus", store, raw, raw_ids=ids, closers=[store.close],
                 notes=[f"Milvus Lite, {store.index_type} index"])


def _milvus_id(hit: Any) -> str:
    from memstack_milvus.encoding import decode_doc

    return decode_doc(list(hit["entity"]["doc"]))[0]


def open_sqlite(tmp: Path, collection: str, n: int, ctx: dict[str, Any]) -> Bench:
    """memstack-sqlite: no raw side (its query is numpy over the scope's rows, read by SQL)."""
    store = _build("sqlite", {"path": str((tmp / "sqlite" / "vectors.db").resolve()),
                              "collection": collection})
    return Bench("sqlite", store, raw=None, closers=[store.close])


OPENERS: dict[str, Callable[[Path, str, int, dict[str, Any]], Bench]] = {
    "memory": open_memory, "chroma": open_chroma, "pgvector": open_pgvector,
    "qdrant": open_qdrant, "milvus": open_milvus, "sqlite": open_sqlite,
}


# --- measuring -------------------------------------------------------------------------------
def load(bench: Bench, ds: Dataset, batch: int = BATCH) -> float:
    """Seconds to upsert the data set through memstack (record building excluded)."""
    total = 0.0
    for records in ds.batches(batch):
        start = time.perf_counter()
        bench.store.upsert(records)
        total += time.perf_counter() - start
    return total


def memstack_query(store: Any, vector: list[float], user: str) -> list[Any]:
    from memstack.filters import parse_filter

    return store.query(vector, limit=LIMIT, filters=parse_filter({"user_id": user}))


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _pair(bench: Bench, vector: list[float], user: str, raw_first: bool
          ) -> tuple[float, float | None, list[str], Any]:
    """One memstack query and one raw query (in the given order): their times and results."""
    t_ms = t_raw = None
    hits: list[Any] = []
    res: Any = None
    for side in (("raw", "ms") if raw_first else ("ms", "raw")):
        if side == "ms":
            t0 = time.perf_counter()
            hits = memstack_query(bench.store, vector, user)
            t_ms = time.perf_counter() - t0
        elif bench.raw is not None:
            with bench.around_raw():
                t0 = time.perf_counter()
                res = bench.raw(vector, user)
                t_raw = time.perf_counter() - t0
    assert t_ms is not None
    return t_ms, t_raw, [h.id for h in hits], res


def search(bench: Bench, ds: Dataset, queries: Queries, budget_s: float | None = None,
           warmup: int = 5, min_queries: int = 20) -> dict[str, Any]:
    """Interleaved memstack / raw latencies, id agreement and recall.

    `warmup` untimed pairs first (caches, lazy imports, first plans); they also tell how long a
    pair takes, and with `budget_s` a slow store runs fewer timed queries (at least
    `min_queries`) so that its query phase fits the budget.
    """
    n = len(queries.users)
    t0 = time.perf_counter()
    for i in range(min(warmup, n)):
        _pair(bench, queries.vectors[i], queries.users[i], raw_first=i % 2 == 1)
    per_pair = (time.perf_counter() - t0) / max(1, min(warmup, n))
    if budget_s is not None and per_pair * n > budget_s:
        n = max(min(min_queries, n), int(budget_s / per_pair))
    ms: list[float] = []
    raw: list[float] = []
    same = 0
    recall = 0.0
    for i in range(n):
        vec, user = queries.vectors[i], queries.users[i]
        t_ms, t_raw, got, res = _pair(bench, vec, user, raw_first=i % 2 == 1)
        ms.append(t_ms)
        if t_raw is not None:
            raw.append(t_raw)
            same += set(got) == set(bench.raw_ids(res))
        truth = exact_top(ds, vec, user)
        recall += len(set(got) & set(truth)) / len(truth)
    out: dict[str, Any] = {
        "queries": n,
        "memstack_p50_ms": 1000 * statistics.median(ms),
        "memstack_p95_ms": 1000 * percentile(ms, 95),
        "recall_at_10": recall / n,
    }
    if raw:
        out.update({
            "raw_p50_ms": 1000 * statistics.median(raw),
            "raw_p95_ms": 1000 * percentile(raw, 95),
            "ratio_p50": statistics.median(ms) / statistics.median(raw),
            # the same query's two sides divided: less sensitive to drift between queries
            "ratio_paired_median": statistics.median(a / b for a, b in zip(ms, raw, strict=True)),
            "same_ids": same / n,
        })
    return out


def run_one(name: str, n: int, queries: Queries, ctx: dict[str, Any],
            budget_s: float | None = None) -> dict[str, Any]:
    """Open `name` on a fresh collection, load `n` records, run the queries; one result row."""
    ds = make_dataset(n)
    tmp = Path(tempfile.mkdtemp(prefix=f"memstack-bench-{name}-"))
    collection = f"bench_{n}"
    bench = OPENERS[name](tmp, collection, n, ctx)
    try:
        bench.before_load()
        load_s = load(bench, ds)
        start = time.perf_counter()
        bench.finish_load()
        finish_s = time.perf_counter() - start
        load_s += finish_s
        bench.after_load()
        count = bench.store.count()
        if count != n:
            raise RuntimeError(f"{name}: loaded {count} records, expected {n}")
        result = {"store": name, "n": n, "load_s": load_s, "finish_load_s": finish_s,
                  "notes": bench.notes}
        result.update(search(bench, ds, queries, budget_s=budget_s))
        return result
    finally:
        bench.close()
        shutil.rmtree(tmp, ignore_errors=True)


# --- reporting -------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def render(results: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> str:
    head = ["store", "N", "queries", "memstack p50 ms", "memstack p95 ms", "raw p50 ms",
            "raw p95 ms", "ratio p50", "same ids", "recall@10", "load s", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        ratio = r.get("ratio_p50")
        mark = "" if ratio is None or ratio <= TARGET_RATIO else " ✗"
        lines.append("| " + " | ".join([
            r["store"], _size(r["n"]), str(r["queries"]), _fmt(r["memstack_p50_ms"]),
            _fmt(r["memstack_p95_ms"]),
            _fmt(r.get("raw_p50_ms")), _fmt(r.get("raw_p95_ms")),
            (_fmt(ratio) + mark) if ratio is not None else "—",
            f"{100 * r['same_ids']:.0f}%" if "same_ids" in r else "—",
            _fmt(r["recall_at_10"]), _fmt(r["load_s"], 1), "; ".join(r.get("notes", [])),
        ]) + " |")
    for s in skipped:
        lines.append(f"| {s['store']} | {_size(s['n'])} |" + " — |" * (len(head) - 3)
                     + f" skipped: {s['reason']} |")
    out = ["\n".join(lines)]
    growth = growth_table(results)
    if growth:
        out.append(growth)
    return "\n\n".join(out)


def growth_table(results: list[dict[str, Any]]) -> str:
    """memstack p50 by size per store, and the factor for each step between sizes."""
    sizes = sorted({r["n"] for r in results})
    if len(sizes) < 2:
        return ""
    steps = list(itertools.pairwise(sizes))
    head = ["store", *[f"p50 ms @ {_size(n)}" for n in sizes],
            *[f"p50 × {_size(a)}→{_size(b)}" for a, b in steps],
            *[f"load ms/record @ {_size(n)}" for n in sizes]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for store in dict.fromkeys(r["store"] for r in results):
        mine = {r["n"]: r for r in results if r["store"] == store}
        if len(mine) < 2:
            continue
        p50 = {n: r["memstack_p50_ms"] for n, r in mine.items()}
        lines.append("| " + " | ".join([
            store, *[_fmt(p50.get(n)) for n in sizes],
            *[f"{p50[b] / p50[a]:.1f}×" if a in p50 and b in p50 else "—" for a, b in steps],
            *[_fmt(1000 * mine[n]["load_s"] / n) if n in mine else "—" for n in sizes],
        ]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated record counts (default: 1000,10000,100000)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per side")
    parser.add_argument("--stores", default="",
                        help=f"comma-separated subset of {','.join(ALL_STORES)} (default: all "
                        "installed)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds for one store × size query phase: a slow store runs fewer "
                        "queries (at least 20); 0 = always --queries (default: 60)")
    parser.add_argument("--force", action="store_true",
                        help="also run the sizes a store skips by default (see MAX_SIZE)")
    parser.add_argument("--pg-bulk-index-from", type=int, default=100_000,
                        help="from this size on, pgvector's HNSW index is built after the load "
                        "instead of row by row (0 = never; default: 100000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--save", metavar="PATH", help="also write the JSON to PATH")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    available = installed_stores()
    wanted = [s.strip() for s in args.stores.split(",") if s.strip()] or available
    unknown = [s for s in wanted if s not in OPENERS]
    if unknown:
        parser.error(f"unknown store(s) {unknown}; choose from {list(ALL_STORES)}")
    skipped: list[dict[str, Any]] = []
    for s in wanted:
        if s not in available:
            skipped.append({"store": s, "n": 0, "reason": "plugin not installed"})
    queries = make_queries(args.queries)
    results: list[dict[str, Any]] = []
    ctx: dict[str, Any] = {"pg_bulk_index_from": args.pg_bulk_index_from or None}
    started = time.perf_counter()
    try:
        for n in sizes:
            for name in [s for s in wanted if s in available]:
                cap, why = MAX_SIZE.get(name, (None, ""))
                if cap is not None and n > cap and not args.force:
                    skipped.append({"store": name, "n": n, "reason": why})
                    print(f"[{name} @ {_size(n)}] skipped: {why}", file=sys.stderr)
                    continue
                t0 = time.perf_counter()
                print(f"[{name} @ {_size(n)}] loading and querying ...", file=sys.stderr,
                      flush=True)
                r = run_one(name, n, queries, ctx, budget_s=args.budget or None)
                r["wall_s"] = time.perf_counter() - t0
                results.append(r)
                print(f"[{name} @ {_size(n)}] done in {r['wall_s']:.0f}s: memstack p50 "
                      f"{r['memstack_p50_ms']:.2f} ms, raw p50 "
                      f"{_fmt(r.get('raw_p50_ms'))} ms, load {r['load_s']:.1f}s",
                      file=sys.stderr, flush=True)
    finally:
        for fn in reversed(ctx.get("cleanup", [])):
            fn()
    total = time.perf_counter() - started
    report = {"benchmark": "stores", "command": " ".join(sys.argv), "dimension": DIM,
              "limit": LIMIT, "users": USERS, "queries": args.queries, "budget_s": args.budget,
              "target_ratio": TARGET_RATIO, "machine": machine(), "total_s": total,
              "results": results, "skipped": skipped}
    if args.save:
        Path(args.save).write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        emit_json(report)
    else:
        print(render(results, skipped))
        print(f"\n{len(results)} runs in {total:.0f}s; ratio = memstack p50 / raw p50 "
              f"(target ≤ {TARGET_RATIO}); machine: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
