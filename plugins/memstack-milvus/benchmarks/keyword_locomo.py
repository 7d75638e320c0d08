"""LoCoMo's keyword side on Milvus Lite: the store's `keyword_query` against the engine's own
BM25 (`memstack.keyword_index.KeywordIndex`) on the same records.

Loads LoCoMo's dated turn texts (as `benchmarks/locomo.py --text dated` stores them) into a
`milvus` store in a temporary Lite file, 10 records per upsert, each conversation its own
`user_id` scope, then asks every question in its scope with both and compares the rankings
(ids, order, scores) at `--limit` (80: the keyword candidates of a k=20 hybrid search).

    HF_HUB_OFFLINE=1 .venv/bin/python plugins/memstack-milvus/benchmarks/keyword_locomo.py

Measured (2026-12-05, Milvus Lite 3.2.2, 2 busy cores): 2,760 memories, 997 questions,
997/997 identical rankings, largest score difference 0; keyword_query ~270 ms a question
against ~1.4 ms for the engine's index once its scope is loaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "benchmarks"))

import locomo  # noqa: E402  (the repository's LoCoMo loader)

from memstack.filters import parse_filter  # noqa: E402
from memstack.keyword_index import KeywordIndex  # noqa: E402
from memstack.models import Record  # noqa: E402
from memstack.registry import get_registry  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/locomo/locomo-dev.json"))
    parser.add_argument("--limit", type=int, default=80)
    args = parser.parse_args()
    conversations = locomo.load(args.data)
    with tempfile.TemporaryDirectory(prefix="memstack-milvus-kw-") as tmp:
        store = get_registry().build("vector_store", "milvus", {
            "uri": f"{tmp}/kw.db", "collection": "locomo", "dimension": 4})
        try:
            records = [Record(id=f"{c.sample_id}-{t.dia_id}", vector=[1.0, 0.0, 0.0, 0.0],
                              payload={"text": locomo.document(t, "dated"),
                                       "user_id": c.sample_id})
                       for c in conversations for t in c.turns]
            for start in range(0, len(records), 10):
                store.upsert(records[start : start + 10])
            index = KeywordIndex()
            index.sync(store)
            asked = same = 0
            worst = store_s = engine_s = 0.0
            for c in conversations:
                scope = parse_filter({"user_id": c.sample_id})
                for q in c.questions:
                    t0 = time.perf_counter()
                    got = store.keyword_query(q.question, limit=args.limit, filters=scope)
                    t1 = time.perf_counter()
                    want = index.search(q.question, limit=args.limit, filters=scope)
                    t2 = time.perf_counter()
                    store_s, engine_s = store_s + t1 - t0, engine_s + t2 - t1
                    asked += 1
                    same += [h.id for h in got] == [rid for rid, _ in want]
                    pairs = zip(got, want, strict=False)
                    worst = max([worst, *(abs(h.score - s) for h, (_, s) in pairs)])
        finally:
            store.close()
    print(f"{len(records)} memories, {asked} questions: identical rankings {same}/{asked}, "
          f"largest score difference {worst:.2e}; keyword_query {store_s / asked * 1000:.1f} ms "
          f"a question (engine index {engine_s / asked * 1000:.2f} ms, its scopes loaded once)")
    return 0 if same == asked else 1


if __name__ == "__main__":
    raise SystemExit(main())
