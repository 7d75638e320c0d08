"""Inference as in the library: with an LLM configured (the `scripted` fake), add_memory
extracts facts, reconciles them with what is stored and returns the events."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from mcp import Client
from mcp_testkit import MEMSTACK, child_env, err, ok, stdio_params, write_config

FACTS = json.dumps({"facts": ["Lives in Paris", "Drinks green tea"]})
DECIDE_FIRST = json.dumps({"memory": [{"id": "new", "text": "Lives in Paris", "event": "ADD"},
                                      {"id": "new", "text": "Drinks green tea", "event": "ADD"}]})
MOVED = json.dumps({"facts": ["Lives in Berlin"]})


def decide_moved(existing_id: str) -> str:
    return json.dumps({"memory": [{"id": existing_id, "text": "Lives in Berlin",
                                   "event": "UPDATE", "old_memory": "Lives in Paris"}]})


def test_add_memory_returns_the_llm_events(tmp_path: Path, home: Path) -> None:
    # The update decision must name the short id the engine gives "Lives in Paris" among the
    # candidates; with one memory per fact searched, it is "0" (the nearest comes first).
    rules = [
        {"match": '"new_facts": ["Lives in Berlin"]', "response": decide_moved("0")},
        {"match": "new_facts", "response": DECIDE_FIRST},
        {"match": "moved to berlin", "response": MOVED},
        {"match": "paris", "response": FACTS},
    ]
    cfg = write_config(tmp_path / "llm.json", tmp_path,
                       llm={"provider": "scripted", "config": {"rules": rules}})
    params = stdio_params(MEMSTACK, ["--user-id", "alice", "--config", str(cfg)],
                          child_env(home))

    async def main() -> None:
        async with Client(params) as client:
            first = await ok(client, "add_memory", {
                "text": "user: I live in Paris and I drink green tea every morning"})
            assert first["inferred"] is True
            assert sorted((e["event"], e["text"]) for e in first["events"]) == \
                [("ADD", "Drinks green tea"), ("ADD", "Lives in Paris")]
            paris = next(e["id"] for e in first["events"] if e["text"] == "Lives in Paris")
            moved = await ok(client, "add_memory", {"text": "user: I moved to Berlin"})
            assert [(e["event"], e["id"], e["text"], e.get("previous_text"))
                    for e in moved["events"]] == \
                [("UPDATE", paris, "Lives in Berlin", "Lives in Paris")]
            raw = await ok(client, "add_memory", {"text": "verbatim note", "infer": False})
            assert raw["inferred"] is False and raw["events"][0]["text"] == "verbatim note"
            # the script has no answer for this one: a backend failure is a tool error
            msg = await err(client, "add_memory", {"text": "user: something unscripted"})
            assert "scripted" in msg
            listed = await ok(client, "list_memories")
            assert sorted(m["text"] for m in listed["memories"]) == \
                ["Drinks green tea", "Lives in Berlin", "verbatim note"]

    anyio.run(main)
