"""`memstack demo`: the embedded default stack on a shipped sample conversation, offline."""

from __future__ import annotations

import json
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from memstack.cli import output


def load_sample() -> dict[str, Any]:
    text = resources.files("memstack").joinpath("data/demo_conversation.json").read_text("utf-8")
    return json.loads(text)


def default_config(data_dir: Path) -> dict[str, Any]:
    """The embedded default (SQLite on disk + local MiniLM, no LLM), with data in `data_dir`."""
    return {
        "vector_store": {"provider": "sqlite", "config": {"path": str(data_dir / "vectors.db")}},
        "history_store": {"provider": "sqlite", "config": {"path": str(data_dir / "history.db")}},
        "collection": "demo",
    }


def run_demo(data_dir: Path) -> None:
    from memstack.memory import Memory

    con = output.console()
    sample = load_sample()
    user = sample["user_id"]
    con.print(f"[bold]memstack demo[/bold] — {sample['about']}")
    con.print(f"data directory: {data_dir}")
    t0 = time.perf_counter()
    with Memory(default_config(data_dir)) as memory:
        memory.delete_all(user_id=user)
        con.print(f"stack: vector_store={memory.names['vector_store']}, "
                  f"embedder={memory.names['embedder']}, llm={memory.names.get('llm') or 'none'}"
                  f" (loaded in {time.perf_counter() - t0:.1f}s)")
        t1 = time.perf_counter()
        result = memory.add(sample["messages"], user_id=user)
        added = sum(e.event == "ADD" for e in result.results)
        con.print(f"\nadded {added} memories for user {user!r} "
                  f"({'LLM inference' if result.inferred else 'stored as given, no LLM'}) "
                  f"in {time.perf_counter() - t1:.2f}s")
        for query in sample["searches"]:
            hits = memory.search(query, user_id=user, limit=3)
            output.memories(f"\nsearch: {query}", hits.results)
        listing = memory.get_all(user_id=user, limit=5)
        output.memories(f"\nlist (first {len(listing.results)} of {added})", listing.results)
        target = next(e for e in result.results if e.memory == sample["update"]["find"])
        event = memory.update(target.id, sample["update"]["text"])
        con.print(f"\nupdate {event.id}: {event.previous_memory!r} → {event.memory!r}")
        output.table("history", ["when", "event", "old", "new"],
                     [[h.created_at[:19], h.event, h.old_memory, h.new_memory]
                      for h in memory.history(target.id)])
        query = sample["searches"][0]
        hits = memory.search(query, user_id=user, limit=2)
        output.memories(f"\nsearch after the update: {query}", hits.results)
    con.print(f"\ndone in {time.perf_counter() - t0:.1f}s")


def cmd_demo(args: Any) -> int:
    if args.dir:
        run_demo(Path(args.dir))
    else:
        with tempfile.TemporaryDirectory(prefix="memstack-demo-") as tmp:
            run_demo(Path(tmp))
    return 0
