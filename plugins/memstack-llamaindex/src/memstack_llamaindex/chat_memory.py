"""`WriteThroughMemory` and `memstack_chat_memory`: LlamaIndex chat memory that remembers at once.

LlamaIndex's `Memory` hands messages to its blocks only when they leave the short-term FIFO —
after ~21,000 tokens with the defaults — so a fact said in a short chat would never reach
long-term memory. `WriteThroughMemory` also hands every new message to its memstack blocks as
soon as it is put; those blocks then ignore the later FIFO flush (`accept_short_term_memory`
False), so nothing is added twice.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage as LlamaChatMessage
from llama_index.core.memory import Memory as LlamaMemory

from memstack_llamaindex.block import MemstackMemoryBlock


class WriteThroughMemory(LlamaMemory):
    """A LlamaIndex `Memory` that sends each new message to its `MemstackMemoryBlock`s at once."""

    @classmethod
    def class_name(cls) -> str:
        return "MemstackWriteThroughMemory"

    async def _write_through(self, messages: list[LlamaChatMessage]) -> None:
        blocks = [b for b in self.memory_blocks if isinstance(b, MemstackMemoryBlock)]
        for block in blocks:
            # Copies: the block tags messages with the session id; the caller's stay as given.
            copies = [m.model_copy(deep=True) for m in messages]
            await block.aput(copies, session_id=self.session_id)

    async def aput(self, message: LlamaChatMessage) -> None:
        await super().aput(message)
        await self._write_through([message])

    async def aput_messages(self, messages: list[LlamaChatMessage]) -> None:
        await super().aput_messages(messages)
        await self._write_through(list(messages))


def memstack_chat_memory(
    memory: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    session_id: str | None = None,
    write_through: bool = True,
    block_options: dict[str, Any] | None = None,
    **memory_options: Any,
) -> LlamaMemory:
    """A LlamaIndex `Memory` for one chat session with memstack as its long-term memory.

    `memory` is a memstack `Memory` / `AsyncMemory`; the scope ids say whose memories these are.
    `write_through` (default) stores each message as it is said; False leaves storing to
    LlamaIndex's FIFO flush. `block_options` go to `MemstackMemoryBlock` (top_k, infer, roles,
    ...); `memory_options` to `Memory.from_defaults` (token_limit, chat_store, ...).
    """
    block = MemstackMemoryBlock(memory=memory, user_id=user_id, agent_id=agent_id,
                                run_id=run_id, accept_short_term_memory=not write_through,
                                **(block_options or {}))
    cls = WriteThroughMemory if write_through else LlamaMemory
    return cls.from_defaults(session_id=session_id, memory_blocks=[block], **memory_options)
