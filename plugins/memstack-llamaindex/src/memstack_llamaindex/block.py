"""`MemstackMemoryBlock`: a LlamaIndex memory block whose long-term store is memstack.

LlamaIndex's `Memory` (llama_index.core.memory) keeps a short-term FIFO of chat messages and
hands messages to its *memory blocks*: `aput` when messages leave the FIFO (or, with
`WriteThroughMemory`, as soon as they are said), `aget` before every LLM call. This block turns
`aput` into `memstack.Memory.add` (facts extracted by memstack's LLM when one is configured,
else the messages as said) and `aget` into `memstack.Memory.search` with the latest user message
as the query — always inside one memstack scope (user / agent / run), so one user's facts never
reach another user's prompt.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage as LlamaChatMessage
from llama_index.core.bridge.pydantic import Field, model_validator
from llama_index.core.memory import BaseMemoryBlock

# LlamaIndex roles → the roles memstack's messages know (user / assistant / tool / system).
ROLE_MAP = {
    "user": "user",
    "assistant": "assistant",
    "chatbot": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "system": "system",
    "developer": "system",
}
SESSION_KEY = "session_id"


def role_of(message: LlamaChatMessage) -> str:
    """The memstack role of a LlamaIndex message (unknown roles count as `user`)."""
    raw = getattr(message.role, "value", message.role)
    return ROLE_MAP.get(str(raw), "user")


def text_of(message: LlamaChatMessage) -> str:
    """The message's text blocks joined; tool calls, images and the like carry no fact text."""
    return (message.content or "").strip()


async def _call(memory: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Await an `AsyncMemory` method; run a `Memory` method in a worker thread (it blocks)."""
    from memstack import AsyncMemory

    method = getattr(memory, name)
    if isinstance(memory, AsyncMemory) or inspect.iscoroutinefunction(method):
        return await method(*args, **kwargs)
    return await asyncio.to_thread(method, *args, **kwargs)


class MemstackMemoryBlock(BaseMemoryBlock[str]):
    """Long-term facts from memstack, for one user (or agent / run), as a LlamaIndex memory block.

    `memory` is a `memstack.Memory` or `memstack.AsyncMemory`; any backend works. Give at least
    one of `user_id`, `agent_id`, `run_id`: every read and write is confined to that scope.
    """

    name: str = Field(default="memstack", description="The memory block's name in the prompt.")
    memory: Any = Field(description="A memstack.Memory or memstack.AsyncMemory.", exclude=True)
    user_id: str | None = Field(default=None, description="memstack scope: the user.")
    agent_id: str | None = Field(default=None, description="memstack scope: the agent.")
    run_id: str | None = Field(default=None, description="memstack scope: the run.")
    top_k: int = Field(default=5, ge=1, description="How many memories to retrieve.")
    threshold: float | None = Field(
        default=None, description="Drop retrieved memories whose score is below this.")
    query_messages: int = Field(
        default=1, ge=1,
        description="How many of the latest user messages make up the search query.")
    roles: tuple[str, ...] = Field(
        default=("user",),
        description="Which memstack roles are sent to memstack.add (user, assistant, tool).")
    infer: bool | None = Field(
        default=None,
        description="memstack.add(infer=...): None extracts facts when memstack has an LLM.")
    filters: dict[str, Any] | None = Field(
        default=None, description="An extra memstack filter for retrieval (within the scope).")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Metadata stored with every memory this block adds.")

    @model_validator(mode="after")
    def _check(self) -> MemstackMemoryBlock:
        if not (self.user_id or self.agent_id or self.run_id):
            raise ValueError("MemstackMemoryBlock needs a scope: set user_id, agent_id or "
                             "run_id (got none); memories are always kept per scope")
        if not callable(getattr(self.memory, "add", None)) or \
                not callable(getattr(self.memory, "search", None)):
            raise ValueError(f"memory must be a memstack.Memory or memstack.AsyncMemory, got "
                             f"{type(self.memory).__name__}")
        unknown = set(self.roles) - {"user", "assistant", "tool"}
        if unknown:
            raise ValueError(f"roles {sorted(unknown)} are not allowed; allowed: user, "
                             "assistant, tool")
        return self

    @property
    def scope(self) -> dict[str, str]:
        """The memstack scope keyword arguments (only the ids that are set)."""
        ids = {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}
        return {k: v for k, v in ids.items() if v}

    # --- read ----------------------------------------------------------------------------------
    def query_for(self, messages: Sequence[LlamaChatMessage] | None) -> str:
        """The latest `query_messages` user messages, oldest first; '' when there are none."""
        texts = [text_of(m) for m in messages or () if role_of(m) == "user"]
        texts = [t for t in texts if t]
        return "\n".join(texts[-self.query_messages:])

    async def asearch(self, query: str, *, skip: frozenset[str] = frozenset()) -> list[Any]:
        """The `top_k` memstack `MemoryItem`s most relevant to `query` in this block's scope,
        leaving out memories whose text is in `skip`."""
        result = await _call(self.memory, "search", query, limit=self.top_k + len(skip),
                             threshold=self.threshold, filters=self.filters, **self.scope)
        return [it for it in result.results if it.memory.strip() not in skip][:self.top_k]

    async def _aget(self, messages: list[LlamaChatMessage] | None = None,
                    **block_kwargs: Any) -> str:
        """One line per relevant memory; '' (the block is left out of the prompt) if none.

        Memories identical to a message already in the chat history (say, the question just
        asked, stored by `WriteThroughMemory`) are left out: the prompt shows them already.
        """
        query = self.query_for(messages)
        if not query:
            return ""
        in_chat = frozenset(t for t in (text_of(m) for m in messages or ()) if t)
        items = await self.asearch(query, skip=in_chat)
        return "\n".join(f"- {item.memory}" for item in items)

    # --- write ---------------------------------------------------------------------------------
    async def _aput(self, messages: list[LlamaChatMessage]) -> None:
        """Send the messages (in `roles`) to memstack.add, tagged with their chat session."""
        batch: list[dict[str, str]] = []
        session = None
        for m in messages:
            session = m.additional_kwargs.get(SESSION_KEY, session)
            role, text = role_of(m), text_of(m)
            if text and role in self.roles:
                batch.append({"role": role, "content": text})
        if not batch:
            return
        metadata = dict(self.metadata)
        if session is not None:
            metadata.setdefault(SESSION_KEY, str(session))
        await _call(self.memory, "add", batch, infer=self.infer, metadata=metadata or None,
                    **self.scope)
