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
