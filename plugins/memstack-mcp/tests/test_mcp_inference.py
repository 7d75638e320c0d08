"""Inference as in the library: with an LLM configured (the `scripted` fake), add_memory
extracts facts, reconciles them with what is stored and returns the events."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from mcp import Client
from mcp_testkit import MEMSTACK, child_env, err, ok, stdio_params, write_config

PARIS = json.dumps({"facts": ["Lives in Paris"]})
ADD_PARIS = json.dumps({"memory": [{"id": "new", "text": "Lives in Paris", "event": "ADD"}]})
MOVED = json.dumps({"facts": ["Lives in Berlin", "Drinks green tea"]})
# One memory is stored when the second add reconciles, so its short id is "0".
UPDATE_AND_ADD = json.dumps({"memory": [
    {"id": "0", "text": "Lives in Berlin", "event": "UPDATE", "old_memory": "Lives in Paris"},
    {"id": "new", "text": "Drinks green tea", "event": "ADD"}]})


def test_add_memory_returns_the_llm_events(tmp_path: Path, home: Path) -> None:
    rules = [  # first match wins: the reconcile prompts carry the facts as "new_facts"
        {"match": '"new_facts": ["Lives in Berlin", "Drinks green tea"]',
         "response": UPDATE_AND_ADD},
        {"match": '"new_facts": ["Lives in Paris"]', "response": ADD_PARIS},
        {"match": "moved to berlin", "response": MOVED},
        {"match": "live in paris", "response": PARIS},
    ]
    cfg = write_config(tmp_path / "llm.json", tmp_path,
                       llm={"provider": "scripted", "config": {"rules": rules}})
    params = stdio_params(MEMSTACK, ["--user-id", "alice", "--config", str(cfg)],
                          child_env(home))

    async def main() -> None:
        async with Client(params) as client:
            first = await ok(client, "add_memory", {"text": "user: I live in Paris"})
            assert first["inferred"] is True
            assert [(e["event"], e["text"]) for e in first["events"]] == \
                [("ADD", "Lives in Paris")]
            paris = first["events"][0]["id"]
            moved = await ok(client, "add_memory", {
                "text": "user: I moved to Berlin, and I drink green tea every morning"})
            assert sorted((e["event"], e["text"], e.get("previous_text"))
                          for e in moved["events"]) == \
                [("ADD", "Drinks green tea", None), ("UPDATE", "Lives in Berlin", "Lives in Paris")]
            update = next(e for e in moved["events"] if e["event"] == "UPDATE")
            # the engine keeps the Paris version as past and names it (core's `supersedes`)
            assert update["supersedes"] == paris and update["id"] != paris
            listed_ids = {m["id"] for m in (await ok(client, "list_memories"))["memories"]}
            assert update["id"] in listed_ids and paris not in listed_ids
            raw = await ok(client, "add_memory", {"text": "verbatim note", "infer": False})
            assert raw["inferred"] is False and raw["events"][0]["text"] == "verbatim note"
            # the script has no answer for this one: a backend failure is a tool error
            msg = await err(client, "add_memory", {"text": "user: something unscripted"})
            assert "scripted" in msg
            listed = await ok(client, "list_memories")
            assert sorted(m["text"] for m in listed["memories"]) == \
                ["Drinks green tea", "Lives in Berlin", "verbatim note"]

    anyio.run(main)
