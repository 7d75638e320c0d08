"""`memstack mcp` with no config at all: the embedded default (SQLite on disk + local MiniLM)
under $MEMSTACK_HOME, so a fresh `pip install memstack-mcp` works with one flag."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from mcp import Client
from mcp_testkit import MEMSTACK, child_env, ok, stdio_params

# The model's ONNX export is a rebuildable cache (tens of seconds to build); it is kept across
# runs in the system temp dir, never in the user's home, while the data stays in `home`.
SHARED_CACHE = Path(tempfile.gettempdir()) / "memstack-mcp-tests-cache"


def test_embedded_default_finds_by_meaning(home: Path) -> None:
    SHARED_CACHE.mkdir(exist_ok=True)
    (home / "cache").symlink_to(SHARED_CACHE, target_is_directory=True)
    params = stdio_params(MEMSTACK, ["--user-id", "alice"], child_env(home))

    async def main() -> None:
        async with Client(params) as client:
            for text in ("Allergic to peanuts", "Prefers window seats on long flights",
                         "Her daughter is called Mia"):
                await ok(client, "add_memory", {"text": text})
            found = await ok(client, "search_memories",
                             {"query": "what food should I avoid?", "limit": 1})
            assert [r["text"] for r in found["results"]] == ["Allergic to peanuts"]
        # a second process sees what the first stored (SQLite on disk under MEMSTACK_HOME)
        async with Client(params) as client:
            listed = await ok(client, "list_memories")
            assert len(listed["memories"]) == 3

    anyio.run(main)
    assert any(home.rglob("*.sqlite3")) or any(home.rglob("*.db"))
