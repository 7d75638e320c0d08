"""memstack's overhead over the raw libraries it drives, measured in one run on one machine.

Bulk add: `Memory.add(texts, infer=False)` of N texts vs `SentenceTransformer.encode` in batches +
`collection.add` (same model, same Chroma settings, same metadata); the add phases alternate
(raw, memstack, raw, ...) and the ratio is the median over `--repeat` rounds. Search: Q searches
through `Memory.search` vs `encode` + `collection.query` with the same scope filter, taking turns
query by query. Targets: both ratios ≤ 1.10.

The raw side always runs the model with sentence-transformers (torch). `--backend torch` makes
memstack do the same, so the ratio is memstack's own overhead; `--backend onnx` (memstack's
default on a CPU) shows what its ONNX Runtime path gains over calling the library directly.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SUBJECTS = ["I", "My sister", "Our team", "The neighbour", "My friend Sam", "Grandpa"]
VERBS = ["likes", "visited", "planned", "cooked", "painted", "wrote about", "forgot"]
OBJECTS = ["the old lighthouse", "a spicy curry", "the marathon in Porto", "jazz records",
           "a red bicycle", "the museum of modern art", "a birthday cake", "the mountain hut"]
WHEN = ["last week", "in 2019", "every Sunday", "yesterday", "during the holidays", "at dawn"]


def make_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
            f"{rng.choice(WHEN)} (note {i})" for i in range(n)]


def raw_add(model: Any, client: Any, name: str, texts: list[str], user: str,
            batch: int) -> float:
    t0 = time.perf_counter()
    col = client.get_or_create_collection(name, embedding_function=None,
                                          configuration={"hnsw": {"space": "cosine"}})
    vectors = model.encode(texts, batch_size=batch, normalize_embeddings=True,
                           convert_to_numpy=True)
    step = client.get_max_batch_size()
    for i in range(0, len(texts), step):
        chunk = texts[i:i + step]
        col.add(ids=[f"id-{j}" for j in range(i, i + len(chunk))],
                embeddings=vectors[i:i + step],
                metadatas=[{"user_id": user, "text": t} for t in chunk])
    return time.perf_counter() - t0


def interleaved_search(model: Any, col: Any, memory: Any, queries: list[str], user: str,
                       limit: int) -> tuple[float, float]:
    """Raw and memstack take turns query by query, so load bursts hit both sides alike."""
    raw = ours = 0.0
    for q in queries:
        t0 = time.perf_counter()
        vec = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
        col.query(query_embeddings=vec, n_results=limit, where={"user_id": user})
        t1 = time.perf_counter()
        memory.search(q, user_id=user, limit=limit)
        t2 = time.perf_counter()
        raw, ours = raw + (t1 - t0), ours + (t2 - t1)
    return raw, ours


def run(n: int, queries: int, repeat: int, mode: str, backend: str = "torch") -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings
    from memstack_sentence_transformers.loading import bundled_model_path
    from sentence_transformers import SentenceTransformer

    from memstack import Memory

    texts = make_texts(n)
    qs = make_texts(queries, seed=11)
    tmp = Path(tempfile.mkdtemp(prefix="memstack-overhead-"))
    model = SentenceTransformer(bundled_model_path("bench"), device="cpu")
    client = chromadb.PersistentClient(path=str(tmp / "raw"),
                                       settings=Settings(anonymized_telemetry=False))
    memory = Memory({
        "vector_store": {"provider": "chroma", "config": {"path": str(tmp / "memstack")}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp / "history.db")}},
        "embedder": {"provider": "sentence-transformers", "config": {"backend": backend}},
        "search": {"mode": mode},
    })
    batch = 32  # the sentence-transformers plugin's default batch size, used on both sides
    model.encode(["warm up"]), memory.search("warm up", user_id="warm")
    add_raw, add_ms, search_raw, search_ms = [], [], [], []
    for r in range(repeat):
        user = f"user-{r}"
        add_raw.append(raw_add(model, client, f"raw{r}", texts, user, batch))
        t0 = time.perf_counter()
        memory.add(texts, user_id=user, infer=False)
        add_ms.append(time.perf_counter() - t0)
        col = client.get_collection(f"raw{r}")
        raw_s, ours_s = interleaved_search(model, col, memory, qs, user, 10)
        search_raw.append(raw_s)
        search_ms.append(ours_s)
    memory.close()
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(a, b, strict=True))  # noqa: E731
    return {
        "n_texts": n, "n_queries": queries, "repeat": repeat, "search_mode": mode,
        "embedder_backend": backend,
        "bulk_add_raw_s": add_raw, "bulk_add_memstack_s": add_ms,
        "bulk_add_ratio": ratio(add_ms, add_raw),
        "search_raw_s": search_raw, "search_memstack_s": search_ms,
        "search_ratio": ratio(search_ms, search_raw),
        "per_search_memstack_ms": 1000 * statistics.median(search_ms) / queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5000, help="texts to add (default 5000)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--mode", choices=["vector", "hybrid", "both"], default="both")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                        help="memstack's embedder backend (default torch: the same runtime as "
                        "the raw side, so the ratio is memstack's own overhead)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    modes = ["vector", "hybrid"] if args.mode == "both" else [args.mode]
    results = [run(args.n, args.queries, args.repeat, m, args.backend) for m in modes]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"search mode {r['search_mode']}, memstack embedder backend "
              f"{r['embedder_backend']} (raw: sentence-transformers): {r['n_texts']} texts, "
              f"{r['n_queries']} queries, {r['repeat']} rounds")
        print(f"  bulk add  raw {statistics.median(r['bulk_add_raw_s']):7.2f} s   memstack "
              f"{statistics.median(r['bulk_add_memstack_s']):7.2f} s   ratio "
              f"{r['bulk_add_ratio']:.3f}  (target ≤ 1.10)")
        print(f"  search    raw {statistics.median(r['search_raw_s']):7.2f} s   memstack "
              f"{statistics.median(r['search_memstack_s']):7.2f} s   ratio "
              f"{r['search_ratio']:.3f}  (target ≤ 1.10)")


if __name__ == "__main__":
    main()
