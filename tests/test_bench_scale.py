"""The scale benchmark's correctness on a tiny size: data generation, exact in-scope ground
truth and recall. No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "scale.py"


@pytest.fixture(scope="module")
def scale() -> Any:
    """benchmarks/scale.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("memstack_bench_scale", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def base() -> tuple[np.ndarray, list[str]]:
    """A stand-in for the embedded corpus: 300 clustered unit vectors of 384 dimensions."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((12, 384))
    v = centers[rng.integers(0, 12, 300)] + 0.7 * rng.standard_normal((300, 384))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32), [f"turn {i} about topic {i % 12}" for i in range(300)]


def test_derived_data_is_unit_scoped_and_reproducible(scale: Any, base: Any) -> None:
    vecs, texts = base
    ds = scale.derive(vecs, texts, 3000, "uniform")
    assert ds.vectors.shape == (3000, 384) and ds.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(ds.vectors, axis=1), 1.0, atol=1e-5)
    sizes = sorted(len(m) for m in ds.members().values())
    assert len(sizes) == 30 and sizes[0] == sizes[-1] == 100
    again = scale.derive(vecs, texts, 3000, "uniform")
    assert np.array_equal(ds.vectors, again.vectors)  # seeded: the cache holds the same data
    # A memory stays close to the base turn whose text it carries.
    own = np.einsum("ij,ij->i", ds.vectors, vecs[ds.turns])
    assert own.mean() > 0.8
    p = ds.payload(5)
    assert p["user_id"] == f"s{ds.scopes[5]}" and p["text"] == texts[ds.turns[5]]


def test_zipf_scopes_are_skewed(scale: Any, base: Any) -> None:
    ds = scale.derive(*base, 20_000, "zipf")
    sizes = sorted((len(m) for m in ds.members().values()), reverse=True)
    assert sizes[0] > 10 * 100  # a few large scopes
    assert np.median(sizes) < 100  # most are small
    assert sum(sizes) == 20_000


def test_exact_ground_truth_and_recall(scale: Any, base: Any) -> None:
    ds = scale.derive(*base, 2000, "uniform")
    members = ds.members()
    queries = scale.make_queries(ds, members, 12)
    for q in queries:
        # brute force over the whole set, then keep the scope: the same ids in the same order
        sims = ds.vectors @ q.vector
        ranked = sorted(range(ds.n), key=lambda i: (-float(sims[i]), i))
        want = [scale.record_id(i) for i in ranked if ds.scopes[i] == q.scope][:10]
        assert scale.exact_top(ds, members, q) == want
        filtered = [scale.record_id(i) for i in ranked
                    if ds.scopes[i] == q.scope and ds.kinds[i] == 0][:10]
        assert scale.exact_top(ds, members, q, kind=0) == filtered
    assert scale.recall_at([["a", "b"], ["c"]], [["a", "x"], ["c"]]) == pytest.approx(0.75)
    assert scale.recall_at([[]], [[]]) == 1.0


def test_an_exact_store_scores_recall_one(scale: Any, base: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    ds = scale.derive(*base, 400, "zipf")
    row = scale.run_store("memory", ds, "zipf", 10, {}, budget_s=30)
    assert row["scoped"]["recall"] == 1.0 and row["filtered"]["recall"] == 1.0
    assert row["largest"]["recall"] == 1.0 and row["largest"]["queries"] == 10
    assert row["n"] == 400 and row["load_per_s"] > 0 and row["ingest_per_s"] > 0


def test_a_short_load_is_repeated_and_its_median_reported(scale: Any, base: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One 3 s load is one draw of a noisy machine; repeats go into fresh collections (the
    searched copy holds the data set once, so recall stays exact) and every run is kept."""
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    ds = scale.derive(*base, 300, "uniform")
    row = scale.run_store("memory", ds, "uniform", 5, {}, budget_s=10, min_load_s=60)
    assert len(row["load_runs"]) == scale.MAX_LOADS
    assert row["load_per_s"] == sorted(row["load_runs"])[scale.MAX_LOADS // 2]
    assert row["scoped"]["recall"] == 1.0
    assert "×:" in scale.render([row])
    once = scale.run_store("memory", ds, "uniform", 5, {}, budget_s=10)
    assert len(once["load_runs"]) == 1 and "×:" not in scale.render([once])


def test_nn_stats_tell_clustered_from_uniform(scale: Any, base: Any) -> None:
    rng = np.random.default_rng(1)
    uniform = rng.standard_normal((300, 384)).astype(np.float32)
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    clustered, flat = scale.nn_stats(base[0], sample=100), scale.nn_stats(uniform, sample=100)
    assert clustered["nn1"] > flat["nn1"] + 0.2
    assert clustered["nn1"] >= clustered["nn10"] >= clustered["random"]


def test_plot_draws_every_store_and_the_largest_zipf_scope(scale: Any, tmp_path: Path) -> None:
    """The picture in docs/benchmarks.md: one line per (store, shape) and, for zipf rows, the
    largest scope dashed beside it."""
    pytest.importorskip("matplotlib")

    def row(store: str, shape: str, n: int, p50: float, big: bool) -> dict[str, Any]:
        r: dict[str, Any] = {"store": store, "shape": shape, "n": n,
                             "scoped": {"p50_ms": p50, "recall": 1.0}}
        if big:
            r["largest"] = {"p50_ms": 10 * p50, "recall": 0.96}
        return r

    rows = [row("pgvector", "zipf", n, 1.0, True) for n in (10_000, 1_000_000)]
    rows += [row("sqlite", "uniform", n, 0.4, False) for n in (10_000, 100_000)]
    out = tmp_path / "scale.png"
    scale.plot(rows, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    fig = plt.gcf()
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["pgvector (zipf)", "pgvector (zipf), largest scope", "sqlite (uniform)"]
    plt.close(fig)


def test_replot_draws_from_saved_reports_later_rows_winning(scale: Any, tmp_path: Path) -> None:
    def row(store: str, n: int, p50: float) -> dict[str, Any]:
        return {"store": store, "shape": "uniform", "n": n,
                "scoped": {"p50_ms": p50, "recall": 1.0}}

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"results": [row("chroma", 10_000, 8.0),
                                             row("pgvector", 10_000, 1.0)]}))
    second.write_text(json.dumps({"results": [row("pgvector", 10_000, 0.5)]}))
    merged = scale.merge_reports([first, second])
    assert sorted((r["store"], r["scoped"]["p50_ms"]) for r in merged) == [
        ("chroma", 8.0), ("pgvector", 0.5)]
    png = tmp_path / "scale.png"
    assert scale.main(["--replot", str(first), str(second), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_committed_plot_data_redraws(scale: Any, tmp_path: Path) -> None:
    """docs/benchmarks.md says `--replot docs/img/scale.json` draws docs/img/scale.png again."""
    data = SCRIPT.parent.parent / "docs" / "img" / "scale.json"
    rows = scale.merge_reports([data])
    assert {(r["store"], r["shape"]) for r in rows} >= {("pgvector", "uniform"),
                                                        ("pgvector", "zipf"), ("sqlite", "uniform")}
    assert all(0.0 <= r["scoped"]["recall"] <= 1.0 for r in rows)
    png = tmp_path / "scale.png"
    assert scale.main(["--replot", str(data), "--plot", str(png)]) == 0 and png.stat().st_size


def test_the_smallest_size_is_loaded_again_after_the_larger_and_ratios_follow(
        scale: Any, base: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1M / 10k load ratio compares the long load with 10k loads on both sides of it."""
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    sets = {n: scale.derive(*base, n, "zipf") for n in (200, 400)}
    rows = [scale.run_store("memory", sets[n], "zipf", 5, {}, budget_s=10, min_load_s=0)
            for n in (200, 400)]
    small, large = rows
    large_rate = large["load_per_s"]
    logged: list[str] = []
    scale.bracket_smallest(rows, "zipf", sets.__getitem__, {}, min_load_s=60, log=logged.append)
    assert len(small["load_runs_after"]) == scale.MAX_LOADS and "load_runs_after" not in large
    pooled = sorted(small["load_runs"] + small["load_runs_after"])
    assert len(pooled) == 1 + scale.MAX_LOADS
    assert small["load_per_s"] == pytest.approx((pooled[4] + pooled[5]) / 2)  # median of ten
    assert large["load_per_s"] == large_rate and len(logged) == 1
    (ratio,) = scale.ratios(rows)
    assert (ratio["from"], ratio["to"]) == (200, 400)
    assert ratio["load"] == pytest.approx(large_rate / small["load_per_s"])
    assert ratio["largest_p50"] == pytest.approx(
        large["largest"]["p50_ms"] / small["largest"]["p50_ms"])
    assert "→" in scale.render(rows) and "→" not in scale.render([large])
