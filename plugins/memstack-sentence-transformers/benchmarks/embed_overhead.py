"""Embedder overhead: `SentenceTransformerEmbedder.embed` vs raw `SentenceTransformer.encode`.

Both use the same loaded model and batch size; runs are interleaved and the median is reported,
so background load affects both sides alike. Usage:

    HF_HUB_OFFLINE=1 python plugins/memstack-sentence-transformers/benchmarks/embed_overhead.py [N]
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from memstack.registry import get_registry

SUBJECTS = ["Alice", "Bob", "the user", "my sister", "our team", "the customer", "Dr. Chen"]
VERBS = ["likes", "prefers", "avoids", "scheduled", "mentioned", "bought", "is learning"]
OBJECTS = [
    "green tea in the morning", "a trip to Lisbon in May", "vegetarian food", "the annual report",
    "running on Sundays", "jazz from the sixties", "a standing desk", "Rust and Python",
    "meetings before ten", "the new phone plan", "hiking in the Alps", "spicy ramen",
]


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} (note {i})."
        for i in range(n)
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    embedder = get_registry().build("embedder", "sentence-transformers", {"backend": "torch"})
    model = embedder.model
    data = texts(n)
    embedder.embed(data[:64])  # warm up both paths (same model)

    def raw_call() -> None:
        model.encode(data, batch_size=embedder.batch_size, convert_to_numpy=True,
                     show_progress_bar=False)

    def ours_call() -> None:
        out = embedder.embed(data)
        assert len(out) == n and len(out[0]) == embedder.dimension

    # Wall time and this process's CPU time (all threads): CPU time barely moves when other
    # processes compete for the cores, so it is the steadier measure on a shared machine.
    times: dict[str, list[tuple[float, float]]] = {"raw": [], "ours": []}
    for r in range(rounds):
        order = [("raw", raw_call), ("ours", ours_call)]
        for label, fn in order if r % 2 == 0 else order[::-1]:  # alternate who goes first
            w, c = time.perf_counter(), time.process_time()
            fn()
            times[label].append((time.perf_counter() - w, time.process_time() - c))
    raw_times = [w for w, _ in times["raw"]]
    ours_times = [w for w, _ in times["ours"]]
    raw_cpu = [c for _, c in times["raw"]]
    ours_cpu = [c for _, c in times["ours"]]

    # What embed() adds around encode, timed alone: input checks and the one .tolist().
    array = model.encode(data[:n], batch_size=embedder.batch_size, convert_to_numpy=True,
                         show_progress_bar=False)
    t = time.perf_counter()
    for _ in range(10):
        all(isinstance(x, str) for x in data)
        array.tolist()
    extra = (time.perf_counter() - t) / 10

    paired = [o / r for o, r in zip(ours_times, raw_times, strict=True)]
    print(f"texts={n} batch_size={embedder.batch_size} rounds={rounds}")
    print(f"raw encode (numpy)    min {min(raw_times):.3f} s  median "
          f"{statistics.median(raw_times):.3f} s  runs {[round(x, 3) for x in raw_times]}")
    print(f"embedder.embed (list) min {min(ours_times):.3f} s  median "
          f"{statistics.median(ours_times):.3f} s  runs {[round(x, 3) for x in ours_times]}")
    print(f"ratio embed/raw: best-of {min(ours_times) / min(raw_times):.3f}, "
          f"median of paired rounds {statistics.median(paired):.3f}")
    print(f"CPU time: raw median {statistics.median(raw_cpu):.3f} s, embed median "
          f"{statistics.median(ours_cpu):.3f} s, ratio "
          f"{statistics.median(ours_cpu) / statistics.median(raw_cpu):.3f}")
    print(f"checks + tolist alone: {extra * 1000:.1f} ms "
          f"({extra / min(raw_times) * 100:.2f} % of the best raw time)")


if __name__ == "__main__":
    main()
