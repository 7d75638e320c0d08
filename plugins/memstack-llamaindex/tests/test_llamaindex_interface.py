"""Fails loudly (never skips) when LlamaIndex's memory-block interface moves.

The block relies on: `BaseMemoryBlock` with abstract `_aget` / `_aput` and the public `aget` /
`aput(messages, from_short_term_memory, session_id)`; `Memory.from_defaults(session_id,
memory_blocks, ...)` handing blocks the chat history (plus the new input) on `aget`, and the
messages it flushes from its FIFO on `aput`, tagged with the session id.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points, requires, version
from pathlib import Path
from typing import Any

from helpers_llamaindex import chat_store
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import Field
from llama_index.core.memory import BaseMemoryBlock, Memory
from packaging.requirements import Requirement


def test_llamaindex_installed_version_is_in_the_pinned_range() -> None:
    pins = [Requirement(r) for r in requires("memstack-llamaindex") or []]
    pin = next(r for r in pins if r.name == "llama-index-core")
    installed = version("llama-index-core")
    assert pin.specifier.contains(installed), (
        f"llama-index-core {installed} is outside the tested range {pin.specifier}; run these "
        "tests on it and widen the pin in plugins/memstack-llamaindex/pyproject.toml")


def test_llamaindex_memory_block_signatures() -> None:
    assert {"_aget", "_aput"} <= set(BaseMemoryBlock.__abstractmethods__)
    aput = inspect.signature(BaseMemoryBlock.aput).parameters
    assert list(aput)[:4] == ["self", "messages", "from_short_term_memory", "session_id"]
    assert "messages" in inspect.signature(BaseMemoryBlock.aget).parameters
    assert {"name", "priority", "accept_short_term_memory"} <= set(BaseMemoryBlock.model_fields)
    defaults = inspect.signature(Memory.from_defaults).parameters
    assert {"session_id", "memory_blocks", "token_limit", "chat_history_token_ratio",
            "token_flush_size"} <= set(defaults)
    assert {"memory_blocks", "session_id", "sql_store"} <= set(Memory.model_fields)
    for name in ("aput", "aput_messages", "aget", "put", "get"):
        assert callable(getattr(Memory, name)), f"llama_index Memory has no {name}()"


class Recorder(BaseMemoryBlock[str]):
    """Records what `Memory` hands a block."""

    gets: list[Any] = Field(default_factory=list)
    puts: list[Any] = Field(default_factory=list)

    async def _aget(self, messages: list[ChatMessage] | None = None, **kw: Any) -> str:
        self.gets.append(([m.content for m in messages or []], kw))
        return "RECORDED"

    async def _aput(self, messages: list[ChatMessage]) -> None:
        self.puts.append([(m.content, dict(m.additional_kwargs)) for m in messages])


def test_llamaindex_memory_calls_blocks_as_the_block_expects(tmp_path: Path) -> None:
    block = Recorder(name="rec")
    mem = Memory.from_defaults(session_id="s-1", memory_blocks=[block], token_limit=60,
                               chat_history_token_ratio=0.5, token_flush_size=20,
                               chat_store=chat_store(tmp_path))

    async def run() -> list[ChatMessage]:
        await mem.aput(ChatMessage(role="user", content="first message " * 5))
        await mem.aput(ChatMessage(role="assistant", content="a reply " * 5))
        await mem.aput(ChatMessage(role="user", content="the newest question " * 3))
        return await mem.aget(input="and now?")

    out = asyncio.run(run())
    # aget: the block saw the chat history plus the new input, and the session id.
    texts, kwargs = block.gets[-1]
    assert texts[-1] == "and now?"
    assert kwargs.get("session_id") == "s-1"
    # Its text went into the system message of the result.
    assert out[0].role == "system" and "RECORDED" in (out[0].content or "")
    # aput: flushed messages arrived, oldest first, tagged with the session id.
    assert block.puts, "Memory never flushed messages to its blocks"
    first = block.puts[0][0]
    assert first[0].startswith("first message")
    assert first[1].get("session_id") == "s-1"


def test_llamaindex_entry_point_loads_without_importing_the_framework(tmp_path: Path) -> None:
    """memstack imports every plugin's entry point at start: ours must not pull in `llama_index`."""
    names = {ep.value for ep in entry_points(group="memstack")}
    assert "memstack_llamaindex.plugin" in names
    config = {"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
              "history_store": {"provider": "sqlite",
                                "config": {"path": str(tmp_path / "h.db")}}}
    code = (f"import json, sys, memstack\n"
            f"memstack.Memory({config!r}).close()\n"
            f"print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    env = {**os.environ, "MEMSTACK_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "memstack" in modules
    assert "llama_index" not in modules
