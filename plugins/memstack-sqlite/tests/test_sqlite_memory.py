"""`Memory` on the `sqlite` store: the real default embedder (local MiniLM), hybrid search with
the store's own keyword side, and a second Memory in another process seeing the writes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from memstack import Memory
from memstack.keyword_index import StoreKeywordSearch


def config(tmp_path: Path) -> dict:
    return {"vector_store": {"provider": "sqlite",
                             "config": {"path": str(tmp_path / "vectors.db")}},
            "history_store": {"provider": "sqlite",
                              "config": {"path": str(tmp_path / "history.db")}}}


READER = textwrap.dedent("""
    import json, sys
    from memstack import Memory
    memory = Memory(json.loads(sys.argv[1]))
    hits = memory.search("What pet does Alice have?", user_id="alice", limit=2).results
    print(json.dumps([h.memory for h in hits]))
    memory.close()
""")


def test_memory_on_sqlite_with_the_default_embedder(tmp_path: Path):
    memory = Memory(config(tmp_path))
    try:
        assert memory.embedder.name != "hashing" and memory.store.dimension == 384
        assert isinstance(memory.keywords, StoreKeywordSearch)
        memory.add("I adopted a greyhound named Biscuit", user_id="alice", infer=False)
        memory.add("I play the cello on weekends", user_id="alice", infer=False)
        memory.add("My greyhound Biscuit is my best friend", user_id="bob", infer=False)
        hits = memory.search("What pet does Alice have?", user_id="alice", limit=2).results
        assert hits[0].memory == "I adopted a greyhound named Biscuit"
        assert {h.memory for h in memory.search("biscuit", user_id="bob").results} == {
            "My greyhound Biscuit is my best friend"}
        out = subprocess.run([sys.executable, "-c", READER, json.dumps(config(tmp_path))],
                             capture_output=True, text=True, timeout=240)
        assert out.returncode == 0, out.stderr[-2000:]
        assert json.loads(out.stdout.strip().splitlines()[-1])[0] == (
            "I adopted a greyhound named Biscuit")
    finally:
        memory.close()


def test_one_call_hybrid_search_ranks_as_the_separate_calls(tmp_path: Path):
    """`hybrid_query` (one read) and the engine's own combination of `query_ids`,
    `keyword_query` and reads give the same results, scores and explanations."""
    import random

    words = ["zebra", "dance", "paris", "hobbies", "coffee", "piano", "sister", "2023", "the",
             "trip", "garden", "novel"]
    memory = Memory({**config(tmp_path), "embedder": {"provider": "hashing"}})
    rng = random.Random(5)
    try:
        assert memory.searcher.one_call
        for n in range(60):
            memory.add(" ".join(rng.choices(words, k=rng.randint(3, 9))),
                       user_id=f"u{n % 3}", agent_id=f"a{n % 2}", infer=False)
        for query in ("zebra dance", "hobbies in paris", "coffee", "the", "piano sister 2023"):
            for scope in ({"user_id": "u0"}, {"user_id": "u1", "agent_id": "a1"}):
                for limit, threshold in ((5, None), (12, 0.05)):
                    runs = []
                    for one_call in (True, False):
                        memory.searcher.one_call = one_call
                        found = memory.search(query, **scope, limit=limit, threshold=threshold,
                                              explain=True).results
                        runs.append([(h.id, round(h.score, 6), h.explanation) for h in found])
                    assert runs[0] == runs[1], (query, scope, limit)
                    assert runs[0], (query, scope)
    finally:
        memory.close()
