"""Client-side helpers for memstack-mcp's tests: open the official Python MCP client over stdio
or streamable HTTP (optionally with an API key) and call tools."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
VENV_BIN = Path(sys.executable).parent
MEMSTACK = str(VENV_BIN / "memstack")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a server process: data under `home`, no model downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMSTACK_")}
    env.update({"MEMSTACK_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def write_config(path: Path, data_dir: Path, **extra: Any) -> Path:
    """A fast config: the in-process `memory` store, the `hashing` embedder, sqlite history."""
    cfg: dict[str, Any] = {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "sqlite", "config": {"path": str(data_dir / "h.db")}},
    }
    cfg.update(extra)
    path.write_text(json.dumps(cfg))
    return path


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def announced_url(proc: subprocess.Popen[bytes], timeout: float = 90.0) -> str:
    """The URL a server prints on stderr ("... at http://127.0.0.1:PORT/mcp ...") once bound.

    Servers bind port 0 themselves, so no other process can take the port between a pick and
    the bind. The rest of stderr is drained in a thread (kept for failure messages)."""
    assert proc.stderr is not None
    lines: list[str] = []
    found: list[str] = []
    seen = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode(errors="replace")
            lines.append(line)
            match = re.search(r" at (http://\S+)", line)
            if match and not found:
                found.append(match.group(1))
                seen.set()
        seen.set()

    threading.Thread(target=drain, daemon=True).start()
    if not seen.wait(timeout) or not found:
        stop(proc)
        raise AssertionError(f"server announced no URL (rc {proc.poll()}): "
                             f"{''.join(lines)[-3000:]}")
    return found[0]


def start_http(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([MEMSTACK, "mcp", "--http", "--port", "0", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, announced_url(proc)


TOOLS = {"add_memory", "search_memories", "list_memories", "get_memory", "update_memory",
         "delete_memory", "delete_all_memories", "memory_history"}


def stdio_params(memstack: str, args: list[str], env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=memstack, args=["mcp", *args], env=env)


@asynccontextmanager
async def http_client(url: str, key: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx2.Timeout(30.0, read=300.0)  # the SDK's defaults (SSE streams stay open)
    async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def ok(client: Client, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured result."""
    result = await client.call_tool(tool, args or {})
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert not result.is_error, f"{tool}({args}) failed: {text}"
    assert result.structured_content is not None, text
    # the text content carries the same JSON, for clients that ignore structured content
    assert json.loads(text) == result.structured_content
    return result.structured_content


async def err(client: Client, tool: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail as a tool error (isError); return the message."""
    result = await client.call_tool(tool, args or {})
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert result.is_error, f"{tool}({args}) should have failed, got {text}"
    return text


async def round_trip(client: Client) -> None:
    """The round trip every client must manage: list tools, add, search, update, history,
    delete, delete_all, and errors as tool errors."""
    tools = await client.list_tools()
    names = {t.name for t in tools.tools}
    assert names == TOOLS
    for t in tools.tools:
        assert t.description and len(t.description) > 40, t.name
        assert t.input_schema["type"] == "object"
        assert "user_id" not in t.input_schema.get("properties", {}), t.name
    hints = {t.name: t.annotations for t in tools.tools}
    assert hints["search_memories"].read_only_hint is True
    assert hints["delete_all_memories"].destructive_hint is True
    assert hints["add_memory"].read_only_hint is False
    added = await ok(client, "add_memory", {"text": "Prefers window seats on flights",
                                            "metadata": {"topic": "travel"}})
    assert [e["event"] for e in added["events"]] == ["ADD"]
    mid = added["events"][0]["id"]
    await ok(client, "add_memory", {"text": "Allergic to peanuts"})
    found = await ok(client, "search_memories", {"query": "window seats flights", "limit": 2})
    assert found["results"][0]["id"] == mid
    assert found["results"][0]["text"] == "Prefers window seats on flights"
    assert isinstance(found["results"][0]["score"], float)
    assert {"created_at"} <= set(found["results"][0])
    filtered = await ok(client, "search_memories", {"query": "anything",
                                                    "filters": {"topic": "travel"}})
    assert [r["id"] for r in filtered["results"]] == [mid]
    upd = await ok(client, "update_memory", {"memory_id": mid,
                                             "text": "Prefers aisle seats on flights"})
    assert upd["event"] == "UPDATE" and upd["previous_text"] == "Prefers window seats on flights"
    got = await ok(client, "get_memory", {"memory_id": mid})
    assert got["text"] == "Prefers aisle seats on flights" and "updated_at" in got
    hist = await ok(client, "memory_history", {"memory_id": mid})
    assert [h["event"] for h in hist["history"]] == ["ADD", "UPDATE"]
    assert hist["history"][1]["old_text"] == "Prefers window seats on flights"
    page = await ok(client, "list_memories", {"limit": 1})
    assert len(page["memories"]) == 1 and page["next_cursor"]
    page2 = await ok(client, "list_memories", {"limit": 1, "cursor": page["next_cursor"]})
    assert len(page2["memories"]) == 1 and page2["next_cursor"] is None
    assert page["memories"][0]["id"] != page2["memories"][0]["id"]
    deleted = await ok(client, "delete_memory", {"memory_id": mid})
    assert deleted["event"] == "DELETE"
    assert "no memory with id" in await err(client, "get_memory", {"memory_id": mid})
    hist = await ok(client, "memory_history", {"memory_id": mid})  # kept after deletion
    assert [h["event"] for h in hist["history"]] == ["ADD", "UPDATE", "DELETE"]
    assert "confirm must be true" in await err(client, "delete_all_memories",
                                               {"confirm": False})
    assert (await ok(client, "list_memories"))["memories"]  # nothing deleted by the refusal
    assert (await ok(client, "delete_all_memories", {"confirm": True}))["deleted"] == 1
    assert (await ok(client, "list_memories"))["memories"] == []
    # bad arguments, unknown ids: tool errors, and the session goes on
    assert "limit" in await err(client, "search_memories", {"query": "x", "limit": 0})
    assert "text" in await err(client, "add_memory", {})
    assert "empty" in await err(client, "add_memory", {"text": "   "})
    assert "no memory with id" in await err(client, "update_memory",
                                            {"memory_id": "nope", "text": "x"})
    assert "no memory with id" in await err(client, "delete_memory", {"memory_id": "nope"})
    assert "cursor" in await err(client, "list_memories", {"cursor": "zzz"})
    assert "filter" in await err(client, "search_memories",
                                 {"query": "x", "filters": {"age": {"between": 3}}})
    unknown = await client.call_tool("no_such_tool", {})
    assert unknown.is_error
    assert (await ok(client, "list_memories"))["memories"] == []


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
