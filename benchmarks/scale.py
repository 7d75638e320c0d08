"""Scale like a multi-tenant service: many scopes of ~100 memories in one collection, every
search limited to one scope (issue 19).

Data with the structure of real memories: the LoCoMo dialog turns (../shared/data/locomo) are
embedded once with the default model (all-MiniLM-L6-v2, 384-d) and cached outside the repository
($MEMSTACK_HOME/cache/scale, else ~/.cache/memstack/scale). A memory of scope s is then
`normalise(0.75·b_j + 0.25·b_k + σ·g/√d)`: b_j a turn from the scope's own window of 100
consecutive turns (a scope talks about its own things), b_k any turn, g Gaussian noise (σ 0.25).
Its text is turn j's. The nearest-neighbour statistics of the derived set are printed next to the
real embeddings' (`nn_stats`), so one can see they resemble each other.

Shapes: `uniform` (N/100 scopes of ~100) and `zipf` (N/100 scopes, sizes ∝ 1/rank: at 100k the
largest holds ~13k memories, most hold tens). Per store and N: load throughput through the
store's `upsert` (batches of 1,000), search p50/p95 within one scope (limit 10), recall@10 against
exact in-scope search (numpy, same float32 vectors), a filtered search (scope + `kind` = "a", a
quarter of the scope), process RSS, disk; for zipf also the largest scope alone. `Memory.search`
(hybrid, the default) on pgvector and chroma at each N, with its overhead over `store.query`.

    .venv/bin/python benchmarks/scale.py                   # 10k, 100k; every store that fits
    .venv/bin/python benchmarks/scale.py --sizes 10000 --stores pgvector --json
    .venv/bin/python benchmarks/scale.py --with-1m         # adds 1M (hours on a small machine)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit_json, machine, offline, rss_mb, table

offline()

import numpy as np  # noqa: E402

DIM = 384
LIMIT = 10
BATCH = 1000
SCOPE_SIZE = 100
MAX_LOADS = 9  # repeats of a short load (see run_store)
INGEST = 2000  # records added to the loaded store, index in place (ingest /s)
WINDOW = 100  # consecutive turns a scope's memories draw on
MIX, SIGMA = 0.75, 0.25
KINDS = ("a", "b", "c", "d")
DEFAULT_LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / \
    "locomo-dev.json"
# Largest N each store runs at by default, and why.
MAX_SIZE: dict[str, tuple[int, str]] = {
    "qdrant": (10_000, "local mode scans every point in Python (0.5-1.3 s a query at 10k on the "
                       "loaded 2-core machine, linear in N)"),
    "milvus": (10_000, "Milvus Lite filters JSON keys per record (~7 s a query at 10k on the "
                       "loaded 2-core machine, linear in N)"),
    "chroma": (100_000, "load ~1k records/s; 1M would take ~20 min to load alone"),
}


def cache_dir() -> Path:
    home = os.environ.get("MEMSTACK_HOME")
    base = Path(home) / "cache" if home else Path.home() / ".cache" / "memstack"
    path = base / "scale"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- data ----------------------------------------------------------------------------------------
def base_corpus(data: Path, cache: Path) -> tuple[np.ndarray, list[str]]:
    """The LoCoMo turns (plain text form) and their default-model embeddings, cached."""
    vec_file, text_file = cache / "base.npy", cache / "base.json"
    if vec_file.exists() and text_file.exists():
        return np.load(vec_file), json.loads(text_file.read_text())
    import locomo

    from memstack.registry import get_registry

    texts = [locomo.document(t, "plain") for c in locomo.load(data) for t in c.turns]
    embedder = get_registry().build("embedder", "sentence-transformers", {})
    vecs = np.asarray(embedder.embed(texts), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    np.save(vec_file, vecs)
    text_file.write_text(json.dumps(texts))
    return vecs, texts


@dataclass
class Dataset:
    """N derived memories: vectors (float32, unit rows), scope, kind and text of each."""

    vectors: np.ndarray
    scopes: np.ndarray  # int scope index per memory
    kinds: np.ndarray  # int index into KINDS
    turns: np.ndarray  # the base turn whose text a memory carries
    texts: list[str]

    @property
    def n(self) -> int:
        return len(self.vectors)

    def members(self) -> dict[int, np.ndarray]:
        order = np.argsort(self.scopes, kind="stable")
        bounds = np.flatnonzero(np.diff(self.scopes[order])) + 1
        return {int(self.scopes[g[0]]): g for g in np.split(order, bounds)}

    def payload(self, i: int) -> dict[str, Any]:
        return {"user_id": f"s{int(self.scopes[i])}", "kind": KINDS[int(self.kinds[i])],
                "text": self.texts[int(self.turns[i])], "hash": "",
                "created_at": "2026-01-01T00:00:00+00:00"}

    def records(self, start: int, stop: int) -> list[Any]:
        from memstack.models import Record

        rows = self.vectors[start:stop].tolist()
        return [Record(id=record_id(i), vector=rows[i - start], payload=self.payload(i))
                for i in range(start, stop)]


def record_id(i: int) -> str:
    return f"m{i:07d}"


def scope_sizes(n: int, shape: str, rng: np.random.Generator) -> np.ndarray:
    """A scope index per memory: `uniform` ~100 each, `zipf` sizes ∝ 1/rank."""
    n_scopes = max(1, n // SCOPE_SIZE)
    if shape == "uniform":
        return rng.permutation(np.arange(n) % n_scopes)
    if shape == "zipf":
        weights = 1.0 / np.arange(1, n_scopes + 1)
        return rng.choice(n_scopes, size=n, p=weights / weights.sum())
    raise ValueError(f"shape must be uniform or zipf, not {shape!r}")


def derive(base: np.ndarray, texts: list[str], n: int, shape: str, seed: int = 7) -> Dataset:
    """N memories derived from the base embeddings (see the module docstring)."""
    rng = np.random.default_rng(seed)
    scopes = scope_sizes(n, shape, rng)
    starts = rng.integers(0, max(1, len(base) - WINDOW), size=int(scopes.max()) + 1)
    own = starts[scopes] + rng.integers(0, min(WINDOW, len(base)), size=n)
    other = rng.integers(0, len(base), size=n)
    vecs = np.empty((n, base.shape[1]), dtype=np.float32)
    for lo in range(0, n, 50_000):  # in chunks: bounded temporary memory at 1M
        hi = min(n, lo + 50_000)
        v = MIX * base[own[lo:hi]] + (1 - MIX) * base[other[lo:hi]]
        v += SIGMA * rng.standard_normal(v.shape).astype(np.float32) / np.sqrt(base.shape[1])
        vecs[lo:hi] = v / np.linalg.norm(v, axis=1, keepdims=True)
    kinds = rng.integers(0, len(KINDS), size=n)
    return Dataset(vectors=vecs, scopes=scopes, kinds=kinds, turns=own, texts=texts)


def cached_dataset(base: np.ndarray, texts: list[str], n: int, shape: str,
                   cache: Path) -> Dataset:
    file = cache / f"{shape}-{n}.npz"
    if file.exists():
        z = np.load(file)
        return Dataset(z["vectors"], z["scopes"], z["kinds"], z["turns"], texts)
    ds = derive(base, texts, n, shape)
    np.savez(file, vectors=ds.vectors, scopes=ds.scopes, kinds=ds.kinds, turns=ds.turns)
    return ds


def nn_stats(vectors: np.ndarray, sample: int = 500, seed: int = 3) -> dict[str, float]:
    """Mean cosine of a sampled vector to its nearest other vector, to its 10th nearest, and
    to a random other vector: how clustered the set is."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)
    sims = vectors[idx] @ vectors.T
    sims[np.arange(len(idx)), idx] = -np.inf
    top = -np.sort(-sims, axis=1)[:, :10]
    rand = sims[np.arange(len(idx)), rng.integers(0, len(vectors), len(idx))]
    return {"nn1": float(top[:, 0].mean()), "nn10": float(top[:, 9].mean()),
            "random": float(rand[np.isfinite(rand)].mean())}


# --- queries and ground truth --------------------------------------------------------------------
@dataclass
class Query:
    vector: np.ndarray
    scope: int
    text: str


def make_queries(ds: Dataset, members: dict[int, np.ndarray], q: int, *, scope: int | None = None,
                 seed: int = 11) -> list[Query]:
    """Queries near a scope's own memories (a member plus noise), each within that scope."""
    rng = np.random.default_rng(seed)
    pool = [s for s, m in members.items() if len(m) >= LIMIT] if scope is None else [scope]
    out = []
    for _ in range(q):
        s = pool[int(rng.integers(0, len(pool)))]
        i = int(members[s][int(rng.integers(0, len(members[s])))])
        v = ds.vectors[i] + 0.5 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
        out.append(Query(vector=v / np.linalg.norm(v), scope=s,
                         text=ds.texts[int(ds.turns[i])]))
    return out


def exact_top(ds: Dataset, members: dict[int, np.ndarray], query: Query, *,
              kind: int | None = None, k: int = LIMIT) -> list[str]:
    """Exact in-scope top-k ids (cosine, ties by id): the ground truth for recall."""
    rows = members[query.scope]
    if kind is not None:
        rows = rows[ds.kinds[rows] == kind]
    sims = ds.vectors[rows] @ query.vector.astype(np.float32)
    order = np.lexsort((rows, -sims))[:k]
    return [record_id(int(rows[j])) for j in order]


def recall_at(found: Sequence[Sequence[str]], truth: Sequence[Sequence[str]]) -> float:
    """Mean over queries of |found ∩ truth| / |truth| (queries with empty truth count 1)."""
    scores = [len(set(f) & set(t)) / len(t) if t else 1.0 for f, t in zip(found, truth,
                                                                           strict=True)]
    return sum(scores) / len(scores) if scores else 1.0


# --- measuring -----------------------------------------------------------------------------------
def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def timed_search(store: Any, ds: Dataset, members: dict[int, np.ndarray], queries: list[Query],
                 *, kind: int | None = None, budget_s: float = 60.0) -> dict[str, Any]:
    from memstack.filters import parse_filter

    times, found, truth = [], [], []
    start = time.perf_counter()
    for q in queries:
        raw: dict[str, Any] = {"user_id": f"s{q.scope}"}
        if kind is not None:
            raw = {"AND": [raw, {"kind": KINDS[kind]}]}
        node, vec = parse_filter(raw), q.vector.tolist()
        t0 = time.perf_counter()
        hits = store.query(vec, limit=LIMIT, filters=node)
        times.append(time.perf_counter() - t0)
        found.append([h.id for h in hits])
        truth.append(exact_top(ds, members, q, kind=kind))
        if time.perf_counter() - start > budget_s and len(times) >= 10:
            break
    return {"queries": len(times), "p50_ms": 1000 * percentile(times, 50),
            "p95_ms": 1000 * percentile(times, 95), "recall": recall_at(found, truth)}


class LookupEmbedder:
    """Hands `Memory.search` the query vector prepared for it (the data is pre-embedded)."""

    capabilities: frozenset[str] = frozenset()
    dimension = DIM
    name = "lookup"

    def __init__(self) -> None:
        self.next: list[float] = []

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> list[list[float]]:
        return [self.next for _ in texts]


def engine_search(provider: str, store_config: dict[str, Any], queries: list[Query],
                  tmp: Path, budget_s: float = 60.0) -> dict[str, Any]:
    """`Memory.search` (hybrid) over the loaded collection; `store.query` of the same Memory's
    store (limit 10, the scope alone: a plain vector search); and, for a store that declares
    `hybrid_query`, that one call exactly as the engine makes it (scope plus the engine's time
    view, `limit × candidates` each side): the store's own cost of the same search.
    `overhead` = Memory.search / store.query (what a hybrid search through the engine costs over
    a plain vector query); `engine_overhead` = Memory.search / hybrid_query (what the engine
    adds to the store's work). Each scope is read once, untimed, before its three timings, and
    the three take turns going first: at 100k+ a scope's rows are not in the server's buffers
    yet, and whichever call came first would pay for reading them."""
    from memstack import Memory, timeline
    from memstack.capabilities import HYBRID_QUERY
    from memstack.filters import and_filters, parse_filter

    embedder = LookupEmbedder()
    memory = Memory({"vector_store": {"provider": provider, "config": store_config},
                     "history_store": {"provider": "sqlite",
                                       "config": {"path": str(tmp / f"h-{provider}.db")}}},
                    embedder=embedder)
    times: dict[str, list[float]] = {"engine": [], "raw": [], "one": []}
    one_call = HYBRID_QUERY in memory.store.capabilities
    wide = LIMIT * memory.config.search.candidates
    start = time.perf_counter()
    try:
        for n, q in enumerate(queries):
            vector = q.vector.tolist()
            embedder.next = vector
            node = parse_filter({"user_id": f"s{q.scope}"})
            view, _ = timeline.view_filter(capabilities=memory.store.capabilities)
            calls: dict[str, Callable[[], Any]] = {
                "engine": partial(memory.search, q.text, user_id=f"s{q.scope}", limit=LIMIT),
                "raw": partial(memory.store.query, vector, limit=LIMIT, filters=node)}
            if one_call:
                calls["one"] = partial(memory.store.hybrid_query, vector, q.text, limit=wide,
                                       keyword_limit=wide, filters=and_filters(node, view))
            calls["raw"]()  # warm the scope, untimed
            names = list(calls)
            for name in names[n % len(names):] + names[:n % len(names)]:
                t0 = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - t0)
            if time.perf_counter() - start > budget_s and n >= 9:
                break
    finally:
        memory.close()
    p50, raw50 = percentile(times["engine"], 50), percentile(times["raw"], 50)
    out = {"queries": len(times["engine"]), "memory_search_p50_ms": 1000 * p50,
           "store_query_p50_ms": 1000 * raw50, "overhead": p50 / raw50}
    if times["one"]:
        out["hybrid_query_p50_ms"] = 1000 * percentile(times["one"], 50)
        out["engine_overhead"] = p50 / percentile(times["one"], 50)
    return out


def load_once(name: str, ds: Dataset, tmp: Path, collection: str,
              ctx: dict[str, Any]) -> tuple[Any, float]:
    """Open a fresh collection and load the data set into it: (bench, seconds spent loading)."""
    import stores

    bench = stores.OPENERS[name](tmp, collection, ds.n, ctx)
    try:
        bench.before_load()
        load_s = 0.0
        for lo in range(0, ds.n, BATCH):
            records = ds.records(lo, min(ds.n, lo + BATCH))
            t0 = time.perf_counter()
            bench.store.upsert(records)
            load_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        bench.finish_load()
        load_s += time.perf_counter() - t0
    except BaseException:
        bench.close()
        raise
    return bench, load_s


def repeated_loads(name: str, ds: Dataset, collection: str, ctx: dict[str, Any],
                   min_load_s: float, keep_last: bool = True) -> tuple[list[float], Any, Any]:
    """Load into fresh collections until `min_load_s` of loading is spent (at most MAX_LOADS):
    the records/s of each load, and the last copy (bench, its directory) unless `keep_last` is
    false, when every copy is removed (None, None)."""
    rates: list[float] = []
    while True:
        tmp = Path(tempfile.mkdtemp(prefix=f"memstack-scale-{name}-"))
        try:
            bench, load_s = load_once(name, ds, tmp, collection, ctx)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        rates.append(ds.n / load_s)
        done = sum(ds.n / r for r in rates) >= min_load_s or len(rates) >= MAX_LOADS
        if done and keep_last:
            return rates, bench, tmp
        bench.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if done:
            return rates, None, None


def run_store(name: str, ds: Dataset, shape: str, q: int, ctx: dict[str, Any],
              budget_s: float, min_load_s: float = 0.0) -> dict[str, Any]:
    """Load, then measure. A load shorter than `min_load_s` is one draw of a noisy machine
    (10k on pgvector takes 3-5 s; one such draw gave anything from 2,200 to 3,300 records/s),
    so it is repeated into fresh collections until that much loading time is spent (at most
    MAX_LOADS), the median reported and every run kept; the last copy is the one searched."""
    members = ds.members()
    collection = f"scale_{shape}_{ds.n}"
    rates, bench, tmp = repeated_loads(name, ds, collection, ctx, min_load_s)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        try:
            bench.after_load()
            row: dict[str, Any] = {"store": name, "shape": shape, "n": ds.n,
                                   "scopes": len(members), "largest_scope":
                                   max(len(m) for m in members.values()),
                                   "load_per_s": statistics.median(rates),
                                   "load_runs": rates, "notes": bench.notes}
            queries = make_queries(ds, members, q)
            row["scoped"] = timed_search(bench.store, ds, members, queries, budget_s=budget_s)
            row["filtered"] = timed_search(bench.store, ds, members, queries, kind=0,
                                           budget_s=budget_s)
            if shape == "zipf":
                big = max(members, key=lambda s: len(members[s]))
                row["largest"] = timed_search(bench.store, ds, members,
                                              make_queries(ds, members, q, scope=big),
                                              budget_s=budget_s)
            row["rss_mb"] = rss_mb()
            row["disk_mb"] = _disk(name, bench, tmp)
            if name in ("pgvector", "chroma", "sqlite") and shape == "uniform":
                cfg = ({"dsn": ctx["pg_dsn"], "collection": collection} if name == "pgvector"
                       else {"path": str((tmp / "sqlite" / "vectors.db").resolve()),
                             "collection": collection} if name == "sqlite"
                       else {"path": str((tmp / "chroma").resolve()), "collection": collection})
                row["engine"] = engine_search(name, cfg, queries, tmp, budget_s=budget_s)
            row["ingest_per_s"] = ingest_rate(bench.store, ds)  # last: it adds records
            return row
        finally:
            bench.close()


def bracket_smallest(results: list[dict[str, Any]], shape: str, dataset: Callable[[int], Dataset],
                     ctx: dict[str, Any], min_load_s: float,
                     log: Callable[[str], None] = print) -> None:
    """Load the smallest N again after the larger ones and pool both sides' runs.

    The machine's speed drifts over minutes (10k medians moved 10% within an hour, as much as
    the 1M/10k gap being measured), while the largest load averages ~8 minutes of it: loads of
    the smallest N on both sides of it make the ratio between them a like-for-like one."""
    for row in results:
        if row["shape"] != shape:
            continue
        ns = [r["n"] for r in results if (r["store"], r["shape"]) == (row["store"], shape)]
        if row["n"] != min(ns) or len(ns) < 2:
            continue
        after, _, _ = repeated_loads(row["store"], dataset(row["n"]),
                                     f"scale_{shape}_{row['n']}_after", ctx, min_load_s,
                                     keep_last=False)
        row["load_runs_after"] = after
        row["load_per_s"] = statistics.median(row["load_runs"] + after)
        log(f"{row['store']} {shape} {row['n']}: loaded again after the larger sizes: "
            f"{[round(r) for r in after]} records/s; load /s now {row['load_per_s']:.0f}")


def ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Largest N over smallest N per store and shape, from one run (the issue's targets)."""
    out = []
    for key in sorted({(r["store"], r["shape"]) for r in results}):
        rs = sorted((r for r in results if (r["store"], r["shape"]) == key), key=lambda r: r["n"])
        if len(rs) < 2:
            continue
        lo, hi = rs[0], rs[-1]
        row: dict[str, Any] = {"store": key[0], "shape": key[1], "from": lo["n"], "to": hi["n"],
                               "load": hi["load_per_s"] / lo["load_per_s"],
                               "scoped_p50": hi["scoped"]["p50_ms"] / lo["scoped"]["p50_ms"]}
        if "ingest_per_s" in lo and "ingest_per_s" in hi:
            row["ingest"] = hi["ingest_per_s"] / lo["ingest_per_s"]
        if "largest" in lo and "largest" in hi:
            row["largest_p50"] = hi["largest"]["p50_ms"] / lo["largest"]["p50_ms"]
        out.append(row)
    return out


def ingest_rate(store: Any, ds: Dataset, k: int = INGEST) -> float:
    """Records/s of `upsert` into the loaded store with its index live: what a running service
    pays to add memories when it already holds N. Differs from load /s, which for pgvector's
    bulk loads builds the index once after the rows. New ids; each vector a member's plus noise,
    so new memories land among existing ones as real ones would (the data set's own noise)."""
    from memstack.models import Record

    rng = np.random.default_rng(7)
    picks = rng.choice(ds.n, size=min(k, ds.n), replace=False)
    vecs = ds.vectors[picks] + rng.normal(0.0, SIGMA / np.sqrt(ds.vectors.shape[1]),
                                          (len(picks), ds.vectors.shape[1]))
    vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
    records = [Record(id=f"x{i:07d}", vector=v, payload=ds.payload(int(j)))
               for i, (j, v) in enumerate(zip(picks, vecs.tolist(), strict=True))]
    spent = 0.0
    for lo in range(0, len(records), BATCH):
        t0 = time.perf_counter()
        store.upsert(records[lo:lo + BATCH])
        spent += time.perf_counter() - t0
    return len(records) / spent


def _disk(name: str, bench: Any, tmp: Path) -> float:
    if name == "pgvector":
        store = bench.store
        rows = store._select(  # table, indexes and TOAST: what the collection costs on disk
            "SELECT pg_total_relation_size(%s::regclass)",
            [f'"{store.schema}"."{store.table_name}"'], "size")
        return int(rows[0][0]) / 2**20
    return dir_mb(tmp)


# --- report --------------------------------------------------------------------------------------
def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def _load_cell(r: dict[str, Any]) -> str:
    runs = r.get("load_runs", []) + r.get("load_runs_after", [])
    if len(runs) < 2:
        return f"{r['load_per_s']:.0f}"
    return f"{r['load_per_s']:.0f} ({len(runs)}×: {min(runs):.0f}–{max(runs):.0f})"


def render(results: list[dict[str, Any]]) -> str:
    headers = ["store", "shape", "N", "scopes (largest)", "load /s", "ingest /s",
               "scoped p50 / p95 ms",
               "recall@10", "filtered p50 ms", "filtered recall", "largest p50 ms / recall",
               "RSS MB", "disk MB"]
    rows = []
    for r in results:
        s, f, big = r["scoped"], r["filtered"], r.get("largest")
        rows.append([r["store"], r["shape"], _size(r["n"]), f"{r['scopes']} ({r['largest_scope']})",
                     _load_cell(r),
                     f"{r['ingest_per_s']:.0f}" if "ingest_per_s" in r else "—",
                     f"{s['p50_ms']:.2f} / {s['p95_ms']:.2f}",
                     f"{s['recall']:.3f}", f"{f['p50_ms']:.2f}", f"{f['recall']:.3f}",
                     f"{big['p50_ms']:.2f} / {big['recall']:.3f}" if big else "—",
                     f"{r['rss_mb']:.0f}", f"{r['disk_mb']:.0f}"])
    out = [table(headers, rows)]
    eng = [r for r in results if "engine" in r]
    if eng:
        out.append(table(["store", "N", "Memory.search p50 ms", "store.query p50 ms",
                           "Memory.search / store.query", "hybrid_query p50 ms",
                           "Memory.search / hybrid_query"],
                          [[r["store"], _size(r["n"]), f"{e['memory_search_p50_ms']:.2f}",
                            f"{e['store_query_p50_ms']:.2f}", f"{e['overhead']:.2f}",
                            f"{e['hybrid_query_p50_ms']:.2f}" if "hybrid_query_p50_ms" in e
                            else "—",
                            f"{e['engine_overhead']:.2f}" if "engine_overhead" in e else "—"]
                           for r in eng for e in [r["engine"]]]))
    rat = ratios(results)
    if rat:
        def x(v: float | None) -> str:
            return "—" if v is None else f"{v:.2f}×"

        out.append(table(["store", "shape", "N", "load /s", "ingest /s", "scoped p50",
                          "largest scope p50"],
                         [[r["store"], r["shape"], f"{_size(r['from'])} → {_size(r['to'])}",
                           x(r["load"]), x(r.get("ingest")), x(r["scoped_p50"]),
                           x(r.get("largest_p50"))] for r in rat]))
    return "\n\n".join(out)


def merge_reports(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The rows of several `--json` reports, one per (store, shape, N), later files winning:
    how a picture drawn from several runs says which run each point came from."""
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for path in paths:
        for r in json.loads(path.read_text())["results"]:
            rows[(r["store"], r["shape"], r["n"])] = r
    return list(rows.values())


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """p50 vs N (log-log) per store and shape, recall beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key in sorted({(r["store"], r["shape"]) for r in results}):
        rs = sorted((r for r in results if (r["store"], r["shape"]) == key), key=lambda r: r["n"])
        label = f"{key[0]} ({key[1]})"
        line = ax.plot([r["n"] for r in rs], [r["scoped"]["p50_ms"] for r in rs], "o-",
                       label=label)[0]
        ax2.plot([r["n"] for r in rs], [r["scoped"]["recall"] for r in rs], "o-", label=label,
                 color=line.get_color())
        big = [r for r in rs if "largest" in r]
        if big:  # zipf: the largest scope too, dashed (the hard case for an index)
            ax.plot([r["n"] for r in big], [r["largest"]["p50_ms"] for r in big], "s--",
                    color=line.get_color(), label=f"{label}, largest scope")
            ax2.plot([r["n"] for r in big], [r["largest"]["recall"] for r in big], "s--",
                     color=line.get_color(), label=f"{label}, largest scope")
    ax.set(xscale="log", yscale="log", xlabel="memories N", ylabel="scoped search p50 (ms)",
           title="Search within one scope")
    ax2.set(xscale="log", xlabel="memories N", ylabel="recall@10 vs exact in-scope",
            title="Recall", ylim=(0.9, 1.005))
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--with-1m", action="store_true", help="add N = 1,000,000")
    parser.add_argument("--shapes", default="uniform,zipf")
    parser.add_argument("--stores", default="pgvector,chroma,sqlite,qdrant,milvus")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--min-load-seconds", type=float, default=30.0,
                        help="repeat a shorter load into fresh collections until this much "
                        f"loading time is spent (at most {MAX_LOADS} loads); load /s is the median")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds of queries per measurement at most (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="ignore the per-store size caps")
    parser.add_argument("--data", default=str(DEFAULT_LOCOMO))
    parser.add_argument("--plot", default=None, help="write the plot to this PNG")
    from memstack.transfer import BULK_MIN

    parser.add_argument("--pg-bulk-from", type=int, default=BULK_MIN,
                        help="pgvector: from this N on, load inside the plugin's bulk_load() "
                             "(every secondary index built after the rows), as `memstack "
                             "import` does from this size on (default: %(default)s, the "
                             "import's threshold; 0 = always)")
    parser.add_argument("--pg-shared-buffers", default=None,
                        help="pgvector: the embedded server's shared_buffers (default: the test "
                             "server's 64MB; a production server sizes it to its working set)")
    parser.add_argument("--pg-parallel-build", type=int, default=0, metavar="WORKERS",
                        help="pgvector: parallel workers for the HNSW build after a bulk load "
                             "(max_parallel_maintenance_workers; default %(default)s, the test "
                             "server's; PostgreSQL's own default is 2)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--replot", nargs="+", metavar="REPORT", default=None,
                        help="measure nothing: draw --plot from these --json reports (a later "
                             "report's row replaces an earlier one's for the same store, shape "
                             "and N)")
    args = parser.parse_args(argv)
    if args.replot:
        if not args.plot:
            parser.error("--replot needs --plot PNG")
        plot(merge_reports([Path(f) for f in args.replot]), Path(args.plot))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.with_1m else [])
    cache = cache_dir()
    base, texts = base_corpus(Path(args.data), cache)
    report: dict[str, Any] = {"benchmark": "scale", "machine": machine(), "results": [],
                              "skipped": [], "base": {"turns": len(base), **nn_stats(base)}}
    ctx: dict[str, Any] = {"pg_bulk_index_from": args.pg_bulk_from}
    pg_settings: dict[str, str] = {}
    if args.pg_shared_buffers:
        pg_settings["shared_buffers"] = args.pg_shared_buffers
    if args.pg_parallel_build:
        pg_settings["max_parallel_maintenance_workers"] = str(args.pg_parallel_build)
    if pg_settings:
        ctx["pg_settings"] = pg_settings
    log: Callable[[str], None] = (lambda m: print(m, file=sys.stderr)) if args.json else print
    log(f"base: {len(base)} LoCoMo turns; nn stats {report['base']}")
    try:
        for shape in args.shapes.split(","):
            for n in sizes:
                ds = cached_dataset(base, texts, n, shape, cache)
                report.setdefault("derived", {})[f"{shape}-{n}"] = nn_stats(ds.vectors)
                log(f"{shape} {n}: nn stats {report['derived'][f'{shape}-{n}']}")
                for name in args.stores.split(","):
                    cap = MAX_SIZE.get(name)
                    if cap and n > cap[0] and not args.force:
                        report["skipped"].append({"store": name, "n": n, "shape": shape,
                                                  "why": cap[1]})
                        continue
                    t0 = time.perf_counter()
                    row = run_store(name, ds, shape, args.queries, ctx, args.budget,
                                    args.min_load_seconds)
                    row["seconds"] = time.perf_counter() - t0
                    row["load_1min"] = os.getloadavg()[0]
                    report["results"].append(row)
                    log(json.dumps(row))
            bracket_smallest(report["results"], shape,
                             lambda n, shape=shape: cached_dataset(base, texts, n, shape, cache),
                             ctx, args.min_load_seconds, log)
    finally:
        for fn in ctx.get("cleanup", []):
            fn()
    report["ratios"] = ratios(report["results"])
    if args.plot:
        plot(report["results"], Path(args.plot))
    if args.json:
        emit_json(report)
    else:
        print(render(report["results"]))
        for s in report["skipped"]:
            print(f"skipped {s['store']} {s['shape']} {_size(s['n'])}: {s['why']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
