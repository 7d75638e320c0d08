"""LoCoMo turn retrieval through `Memory`: recall@k and hit@k of the questions' evidence turns.

Every dialog turn of a conversation is added with ``infer=False`` (one scope per conversation:
``user_id`` = the sample id; one batched add per session and speaker, with the session number,
session date and speaker as metadata), then every question is searched in its conversation's
scope and the returned memories are mapped back to dia_ids (each add returns the id every turn
got). recall@k = share of a question's evidence turns among the top k; hit@k = at least one.
Categories 1–4 are reported together ("overall"); category 5 (adversarial) apart.

    python benchmarks/locomo.py                      # the default local stack (Chroma + MiniLM)
    python benchmarks/locomo.py --mode vector --text plain --json
    python benchmarks/locomo.py --sweep              # fusion settings compared on one loaded store

The data (CC BY-NC 4.0) is read from ../shared/data/locomo/ and never copied into the repo.
Standard library only at import time: the mem0 worker (benchmarks/vs_mem0.py) reuses the loader
and the scoring from another virtual environment.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_LOCOMO, REPO, emit_json, machine, offline, stopwatch, table

KS = (1, 5, 10, 20)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
OVERALL = (1, 2, 3, 4)
TEXT_FORMS = ("plain", "dated")
_DIA_ID = re.compile(r"^D:?(\d+):0*(\d+)$")
_SESSION_KEY = re.compile(r"^session_(\d+)$")


# --- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Turn:
    dia_id: str
    session: int
    date: str
    speaker: str
    text: str
    caption: str | None = None


@dataclass(frozen=True)
class Question:
    question: str
    category: int
    evidence: tuple[str, ...]


@dataclass
class Conversation:
    sample_id: str
    turns: list[Turn]
    questions: list[Question]
    skipped: int = 0  # questions left without any usable evidence id


def parse_dia_id(raw: str) -> str | None:
    """``"D1:3"``, ``"D:11:26"`` or ``"D30:05"`` → the canonical ``"D<session>:<turn>"``."""
    m = _DIA_ID.match(raw.strip())
    return f"D{int(m.group(1))}:{int(m.group(2))}" if m else None


def repair_evidence(raw: Iterable[Any], known: Container[str]) -> tuple[str, ...]:
    """Split multi-id strings on ';' and spaces, parse each id, drop unknown or unparsable
    ones, keep the first occurrence of each (the data README's repair rules)."""
    out: dict[str, None] = {}
    for item in raw:
        if not isinstance(item, str):
            continue
        for part in re.split(r"[;\s]+", item):
            dia = parse_dia_id(part) if part else None
            if dia is not None and dia in known:
                out.setdefault(dia, None)
    return tuple(out)


def parse_sample(sample: dict[str, Any]) -> Conversation:
    conv = sample["conversation"]
    turns: list[Turn] = []
    sessions = sorted((int(m.group(1)), key) for key in conv
                      if (m := _SESSION_KEY.match(key)) and isinstance(conv[key], list))
    for number, key in sessions:  # date keys without a session list are ignored
        date = str(conv.get(f"{key}_date_time", ""))
        for t in conv[key]:
            dia = parse_dia_id(str(t.get("dia_id", "")))
            if dia is None or not str(t.get("text", "")).strip():
                continue
            turns.append(Turn(dia_id=dia, session=number, date=date, speaker=str(t["speaker"]),
                              text=str(t["text"]), caption=t.get("blip_caption") or None))
    known = {t.dia_id for t in turns}
    questions: list[Question] = []
    skipped = 0
    for qa in sample.get("qa", []):
        evidence = repair_evidence(qa.get("evidence", []), known)
        if not evidence:
            skipped += 1
            continue
        questions.append(Question(question=str(qa["question"]), category=int(qa["category"]),
                                  evidence=evidence))
    return Conversation(sample_id=str(sample["sample_id"]), turns=turns, questions=questions,
                        skipped=skipped)


def load(path: str | Path) -> list[Conversation]:
    with open(path, encoding="utf-8") as fh:
        return [parse_sample(s) for s in json.load(fh)]


def document(turn: Turn, form: str) -> str:
    """The memory text of one turn: ``plain`` = "{speaker}: {text}"; ``dated`` adds the session
    date in front and the shared image's caption at the end."""
    if form == "plain":
        return f"{turn.speaker}: {turn.text}"
    if form == "dated":
        shares = f" [shares {turn.caption}]" if turn.caption else ""
        return f"[{turn.date}] {turn.speaker}: {turn.text}{shares}"
    raise ValueError(f"unknown text form {form!r}; use one of {', '.join(TEXT_FORMS)}")


def session_groups(turns: Sequence[Turn]) -> list[list[Turn]]:
    """Turns grouped by (session, speaker), in order of first appearance: one add each."""
    groups: dict[tuple[int, str], list[Turn]] = defaultdict(list)
    for t in turns:
        groups[(t.session, t.speaker)].append(t)
    return list(groups.values())


# --- scoring ------------------------------------------------------------------------------------
def session_time(date: str) -> datetime | None:
    """LoCoMo's session date ("1:56 pm on 8 May, 2023") as a UTC datetime, None if unparsable
    (the memory then holds from when it was stored)."""
    try:
        return datetime.strptime(date.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def recall_at(evidence: Sequence[str], ranked: Sequence[Iterable[str]], k: int) -> float:
    """Share of `evidence` found among the dia_ids of the first k results (a result may stand
    for several turns with the same text)."""
    found = {d for hit in ranked[:k] for d in hit}
    return sum(1 for e in evidence if e in found) / len(evidence)


@dataclass
class Scoreboard:
    """Sums of recall@k and hit@k per category; `table()` averages them per question."""

    ks: tuple[int, ...] = KS
    sums: dict[int, dict[str, float]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(float)))
    counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, question: Question, ranked_by_k: dict[int, Sequence[Iterable[str]]]) -> None:
        """`ranked_by_k[k]`: the dia_id sets of the results of a search with limit k."""
        self.counts[question.category] += 1
        row = self.sums[question.category]
        for k in self.ks:
            r = recall_at(question.evidence, ranked_by_k[k], k)
            row[f"recall@{k}"] += r
            row[f"hit@{k}"] += 1.0 if r > 0 else 0.0

    def result(self) -> dict[str, dict[str, float]]:
        """{"overall": {...}, "1": {...}, ..., "5": {...}} with n and the averaged metrics."""
        out: dict[str, dict[str, float]] = {}
        groups = [("overall", OVERALL)] + [(str(c), (c,)) for c in sorted(self.counts)]
        for name, cats in groups:
            n = sum(self.counts.get(c, 0) for c in cats)
            metrics: dict[str, float] = {"n": n}
            for k in self.ks:
                for metric in ("recall", "hit"):
                    key = f"{metric}@{k}"
                    total = sum(self.sums[c][key] for c in cats if c in self.sums)
                    metrics[key] = total / n if n else 0.0
            out[name] = metrics
        return out


def result_table(result: dict[str, dict[str, float]], ks: Sequence[int] = KS) -> str:
    headers = ["questions", "n"] + [f"R@{k}" for k in ks] + ["Hit@10"]
    rows = []
    for name, m in result.items():
        label = "overall (1–4)" if name == "overall" else f"{name} {CATEGORIES.get(int(name), '')}"
        rows.append([label, int(m["n"])] + [m[f"recall@{k}"] for k in ks]
                    + [m.get("hit@10", float("nan"))])
    return table(headers, rows)


# --- running through Memory ---------------------------------------------------------------------
def store_config(store: str, workdir: Path, extra: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Provider config for a store that keeps its data in the temporary `workdir`, plus
    `extra` (`--store-config`, e.g. `{"keyword_search": false}` to compare a store's own
    keyword search with the engine's)."""
    local = {"chroma": {"path": str(workdir / "chroma")},
             "sqlite": {"path": str(workdir / "vectors.db")},
             "qdrant": {"path": str(workdir / "qdrant")},
             "milvus": {"uri": str(workdir / "milvus.db")}}
    return {**local.get(store, {}), **(extra or {})}


def memory_config(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    search: dict[str, Any] = {"mode": args.mode} if args.mode else {}
    for name in ("fusion", "rrf_k", "keyword_weight", "candidates", "min_candidates"):
        value = getattr(args, name, None)
        if value is not None:
            search[name] = value
    return {
        "vector_store": {"provider": args.store,
                         "config": store_config(args.store, workdir, args.store_config)},
        "embedder": {"provider": args.embedder},
        "history_store": {"provider": "sqlite", "config": {"path": str(workdir / "history.db")}},
        "collection": "locomo",
        "search": search,
    }


class Loaded:
    """The conversations added to one store, with the id → dia_ids map of every memory."""

    def __init__(self, memory: Any, conversations: Sequence[Conversation], form: str,
                 timestamps: bool = False) -> None:
        self.conversations = conversations
        self.dia: dict[str, set[str]] = defaultdict(set)
        for conv in conversations:
            for group in session_groups(conv.turns):
                first = group[0]
                result = memory.add(
                    [{"role": "user", "content": document(t, form)} for t in group],
                    user_id=conv.sample_id, infer=False,
                    metadata={"session": first.session, "session_date": first.date,
                              "speaker": first.speaker},
                    **({"timestamp": session_time(first.date)} if timestamps else {}))
                for turn, event in zip(group, result.results, strict=True):
                    self.dia[event.id].add(turn.dia_id)
        self.memories = len(self.dia)


def evaluate(memory: Any, loaded: Loaded, ks: Sequence[int] = KS, *, prefix: bool = False,
             search: Callable[..., Any] | None = None) -> dict[str, dict[str, float]]:
    """Search every question in its conversation's scope and score the results. Each k is a
    search with limit k (what a caller asking for k memories gets); with `prefix`, one search
    with the largest k and its prefixes (faster; differs only in hybrid mode)."""
    board = Scoreboard(ks=tuple(ks))
    run = search or memory.search
    for conv in loaded.conversations:
        for q in conv.questions:
            by_k: dict[int, list[set[str]]] = {}
            limits = [max(ks)] if prefix else list(ks)
            for limit in limits:
                items = run(q.question, user_id=conv.sample_id, limit=limit).results
                by_k[limit] = [loaded.dia.get(it.id, set()) for it in items]
            if prefix:
                by_k = {k: by_k[max(ks)][:k] for k in ks}
            board.add(q, by_k)
    return board.result()


class QueryCache:
    """Wraps an embedder so each distinct query is embedded once across a sweep (documents
    pass straight through). Same model, same vectors: only repeated work is skipped."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.capabilities = getattr(inner, "capabilities", frozenset())
        self._cache: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str], *, kind: str = "document") -> list[list[float]]:
        if kind != "query":
            return self.inner.embed(texts, kind=kind)
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            self._cache.update(zip(todo, self.inner.embed(todo, kind="query"), strict=True))
        return [self._cache[t] for t in texts]


# Fusion settings compared by --sweep (see docs/benchmarks.md for the measured table).
SWEEP: list[tuple[str, dict[str, Any]]] = [
    ("vector only", {"mode": "vector"}),
    ("keyword-led (convex, keyword_weight=1000)", {"keyword_weight": 1000.0}),
    ("RRF k=60 (BM25 b=0.75)", {"fusion": "rrf", "rrf_k": 60, "bm25_b": 0.75}),
    ("RRF k=60", {"fusion": "rrf", "rrf_k": 60}),
    ("RRF k=60, candidates=10", {"fusion": "rrf", "rrf_k": 60, "candidates": 10}),
    ("RRF k=60, keyword_weight=3", {"fusion": "rrf", "rrf_k": 60, "keyword_weight": 3.0}),
    ("RRF k=10", {"fusion": "rrf", "rrf_k": 10}),
    ("convex, BM25 b=0.75", {"bm25_b": 0.75}),
    ("convex, BM25 k1=1.5 b=0.75", {"bm25_k1": 1.5, "bm25_b": 0.75}),
    ("convex, keyword_weight=0.5", {"keyword_weight": 0.5}),
    ("convex, keyword_weight=2", {"keyword_weight": 2.0}),
    ("convex, candidates=10", {"candidates": 10}),
    ("convex, tokenizer=simple", {"tokenizer": "simple"}),
    ("convex (default)", {}),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_LOCOMO),
                        help="locomo JSON (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--text", choices=TEXT_FORMS, default="dated",
                        help="memory text of a turn (default: %(default)s)")
    parser.add_argument("--mode", choices=("vector", "hybrid"), default=None,
                        help="search mode (default: SearchConfig's default)")
    parser.add_argument("--fusion", default=None, help="fusion method (SearchConfig.fusion)")
    parser.add_argument("--rrf-k", dest="rrf_k", type=int, default=None)
    parser.add_argument("--keyword-weight", dest="keyword_weight", type=float, default=None)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--store", default="chroma", help="vector store provider (default: chroma)")
    parser.add_argument("--store-config", dest="store_config", type=json.loads, default=None,
                        help="JSON merged into the store's config, e.g. "
                             "'{\"keyword_search\": false}'")
    parser.add_argument("--embedder", default="sentence-transformers",
                        help="embedder provider (default: %(default)s, all-MiniLM-L6-v2)")
    parser.add_argument("--prefix", action="store_true",
                        help="one search with the largest k, scored at every prefix")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: the library's; 1 on a busy machine)")
    parser.add_argument("--conversations", type=int, default=None,
                        help="only the first N conversations (default: all)")
    parser.add_argument("--timestamps", action="store_true",
                        help="add each session with its date as the message timestamp")
    parser.add_argument("--sweep", action="store_true",
                        help="compare the fusion settings in SWEEP on one loaded store")
    args = parser.parse_args(argv)
    offline()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not data.is_absolute() and not data.exists():
        data = REPO / data
    if not data.exists():
        raise SystemExit(f"LoCoMo data not found at {data}; pass --data PATH (the dev split "
                         "lives in ../shared/data/locomo/ beside the repository)")
    conversations = load(data)[: args.conversations]
    with tempfile.TemporaryDirectory(prefix="memstack-locomo-") as tmp:
        if args.sweep:
            report = sweep(args, conversations, Path(tmp))
        else:
            report = single(args, conversations, Path(tmp))
    if args.json:
        emit_json(report)
    return 0


def _build(args: argparse.Namespace, workdir: Path, **given: Any) -> Any:
    from memstack import Memory

    return Memory(memory_config(args, workdir), **given)


def single(args: argparse.Namespace, conversations: Sequence[Conversation],
           workdir: Path) -> dict[str, Any]:
    with stopwatch() as total:
        memory = _build(args, workdir)
        with stopwatch() as add_time:
            loaded = Loaded(memory, conversations, args.text, args.timestamps)
        with stopwatch() as search_time:
            result = evaluate(memory, loaded, prefix=args.prefix)
        config = {"text": args.text, "timestamps": args.timestamps,
                  "store": memory.names["vector_store"],
                  "embedder": memory.names["embedder"],
                  "search": memory.config.search.model_dump(), "prefix": args.prefix}
        memory.close()
    report = {
        "benchmark": "locomo", "data": str(args.data), "config": config,
        "conversations": len(conversations), "turns": sum(len(c.turns) for c in conversations),
        "memories": loaded.memories,
        "questions": sum(len(c.questions) for c in conversations),
        "skipped_questions": sum(c.skipped for c in conversations),
        "seconds": {"add": add_time(), "search": search_time(), "total": total()},
        "machine": machine(), "result": result,
    }
    if not args.json:
        print(f"config: {json.dumps(config)}")
        print(f"{report['conversations']} conversations, {report['turns']} turns "
              f"({report['memories']} memories), {report['questions']} questions "
              f"({report['skipped_questions']} skipped: no usable evidence)")
        print(result_table(result))
        s = report["seconds"]
        print(f"wall time: add {s['add']:.1f} s, search {s['search']:.1f} s, "
              f"total {s['total']:.1f} s")
    return report


def sweep(args: argparse.Namespace, conversations: Sequence[Conversation],
          workdir: Path) -> dict[str, Any]:
    """Load once, then evaluate each SWEEP setting with its own `Memory` over the same store
    (its keyword index is rebuilt from the store with that setting's tokenizer)."""
    base = _build(args, workdir)
    cache = QueryCache(base.embedder)
    with stopwatch() as add_time:
        loaded = Loaded(base, conversations, args.text)
    rows = []
    for label, search in SWEEP:
        sub = argparse.Namespace(**{**vars(args), "mode": None, "fusion": None, "rrf_k": None,
                                    "keyword_weight": None, "candidates": None})
        config = memory_config(sub, workdir)
        config["search"] = {"mode": "hybrid", **search}
        from memstack import Memory

        memory = Memory(config, vector_store=base.store, embedder=cache,
                        history_store=base.history_store)
        with stopwatch() as t:
            result = evaluate(memory, loaded, prefix=args.prefix)
        rows.append({"label": label, "search": memory.config.search.model_dump(),
                     "result": result, "seconds": t()})
        if not args.json:
            o = result["overall"]
            print(f"{label:40s} R@1 {o['recall@1']:.3f} R@5 {o['recall@5']:.3f} "
                  f"R@10 {o['recall@10']:.3f} R@20 {o['recall@20']:.3f} "
                  f"Hit@10 {o['hit@10']:.3f}  ({t():.0f} s)", flush=True)
    base.close()
    return {"benchmark": "locomo-sweep", "text": args.text, "store": args.store,
            "add_seconds": add_time(), "machine": machine(), "rows": rows}


if __name__ == "__main__":
    raise SystemExit(main())
