"""`MemstackMemoryBlock` and `WriteThroughMemory` on their own (hashing embedder + memory store)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest
from helpers_llamaindex import chat_store, fact_llm, fast_config
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory import Memory as LlamaMemory
from memstack_llamaindex import MemstackMemoryBlock, WriteThroughMemory, memstack_chat_memory
from pydantic import ValidationError

import memstack


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


def bot(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", content=text)


def texts(memory: Any, **scope: str) -> set[str]:
    return {m.memory for m in memory.get_all(**scope).results}


def test_llamaindex_block_needs_a_scope_and_a_memstack_memory(make_memory: Any) -> None:
    with pytest.raises(ValidationError, match="needs a scope: set user_id, agent_id or run_id"):
        MemstackMemoryBlock(memory=make_memory())
    with pytest.raises(ValidationError, match=r"must be a memstack\.Memory .* got dict"):
        MemstackMemoryBlock(memory={}, user_id="u")
    with pytest.raises(ValidationError, match=r"roles \['system'\] are not allowed"):
        MemstackMemoryBlock(memory=make_memory(), user_id="u", roles=("user", "system"))


def test_llamaindex_block_put_stores_user_messages_with_session(make_memory: Any) -> None:
    memory = make_memory()
    block = MemstackMemoryBlock(memory=memory, user_id="alice")
    asyncio.run(block.aput([user("I live in Lisbon."), bot("Nice city!"),
                            ChatMessage(role="user", content="")], session_id="chat-7"))
    items = memory.get_all(user_id="alice").results
    assert [(i.memory, i.role, i.metadata) for i in items] == [
        ("I live in Lisbon.", "user", {"session_id": "chat-7"})]
    assert texts(memory, user_id="bob") == set()


def test_llamaindex_block_roles_option_stores_assistant_too(make_memory: Any) -> None:
    memory = make_memory()
    block = MemstackMemoryBlock(memory=memory, agent_id="helper",
                                roles=("user", "assistant"), metadata={"source": "li"})
    asyncio.run(block.aput([user("I live in Lisbon."), bot("Lisbon has trams.")]))
    items = memory.get_all(agent_id="helper").results
    assert {(i.memory, i.role) for i in items} == {("I live in Lisbon.", "user"),
                                                   ("Lisbon has trams.", "assistant")}
    assert all(i.metadata == {"source": "li"} for i in items)


def test_llamaindex_block_get_returns_relevant_facts_in_scope_only(make_memory: Any) -> None:
    memory = make_memory()
    memory.add("My dog is called Rex.", user_id="alice", infer=False)
    memory.add("I am allergic to peanuts.", user_id="alice", infer=False)
    memory.add("My dog is called Bolt.", user_id="bob", infer=False)
    alice = MemstackMemoryBlock(memory=memory, user_id="alice", top_k=1)
    got = asyncio.run(alice.aget([bot("hello"), user("What is my dog called?")]))
    assert got == "- My dog is called Rex."
    bob = MemstackMemoryBlock(memory=memory, user_id="bob")
    assert "Rex" not in asyncio.run(bob.aget([user("What is my dog called?")]))
    carol = MemstackMemoryBlock(memory=memory, user_id="carol")
    assert asyncio.run(carol.aget([user("What is my dog called?")])) == ""
    assert asyncio.run(alice.aget([bot("only the assistant spoke")])) == ""


def test_llamaindex_block_get_skips_memories_already_in_the_chat(make_memory: Any) -> None:
    memory = make_memory()
    memory.add(["What is my dog called?", "My dog is called Rex."], user_id="alice",
               infer=False)
    block = MemstackMemoryBlock(memory=memory, user_id="alice", top_k=5)
    got = asyncio.run(block.aget([user("What is my dog called?")]))
    assert got == "- My dog is called Rex."


def test_llamaindex_block_infers_facts_when_memstack_has_an_llm(make_memory: Any) -> None:
    llm = fact_llm()
    memory = make_memory(llm=llm)
    block = MemstackMemoryBlock(memory=memory, user_id="alice", roles=("user", "assistant"))
    asyncio.run(block.aput([user("My favourite colour is teal."), bot("Noted.")]))
    assert texts(memory, user_id="alice") == {"User's favourite colour is teal"}
    # The extraction call saw the whole exchange, the assistant's turn included.
    assert "assistant: Noted." in llm.calls[0]["messages"][-1].content
    # infer=False on the block stores the message itself, even with an LLM configured.
    raw = MemstackMemoryBlock(memory=memory, user_id="bob", infer=False)
    asyncio.run(raw.aput([user("My favourite colour is red.")]))
    assert texts(memory, user_id="bob") == {"My favourite colour is red."}


def test_llamaindex_block_works_with_async_memory(tmp_path: Any) -> None:
    async def run() -> tuple[str, str]:
        async with memstack.AsyncMemory(fast_config(tmp_path)) as memory:
            block = MemstackMemoryBlock(memory=memory, user_id="alice")
            await block.aput([user("My cat is called Tom.")])
            other = MemstackMemoryBlock(memory=memory, user_id="bob")
            q = [user("What is my cat called?")]
            return await block.aget(q), await other.aget(q)

    mine, theirs = asyncio.run(run())
    assert mine == "- My cat is called Tom."
    assert theirs == ""


def test_llamaindex_write_through_stores_each_message_once(make_memory: Any,
                                                          tmp_path: Path) -> None:
    """Write-through stores at once; the later FIFO flush does not store again."""
    memory = make_memory()
    chat = memstack_chat_memory(memory, user_id="alice", session_id="s1", token_limit=40,
                                chat_history_token_ratio=0.5, token_flush_size=10,
                                chat_store=chat_store(tmp_path))
    assert isinstance(chat, WriteThroughMemory)
    assert chat.memory_blocks[0].accept_short_term_memory is False
    msg = user("I work as a nurse.")
    chat.put(msg)
    assert texts(memory, user_id="alice") == {"I work as a nurse."}
    assert msg.additional_kwargs == {}  # the caller's message is not tagged
    for i in range(6):  # enough to push the first message out of the FIFO
        chat.put(bot(f"reply number {i} with some padding words"))
        chat.put(user(f"message number {i} with some padding words"))
    history = memory.history_store
    events = [h for m in memory.get_all(user_id="alice").results for h in history.history(m.id)]
    assert len(events) == 7 and all(e.event == "ADD" for e in events)
    assert len(chat.get_all()) > len(chat.get())  # messages were archived (flushed)


def test_llamaindex_without_write_through_the_fifo_flush_stores(make_memory: Any,
                                                               tmp_path: Path) -> None:
    memory = make_memory()
    chat = memstack_chat_memory(memory, user_id="alice", session_id="s9",
                                write_through=False, token_limit=40,
                                chat_history_token_ratio=0.5, token_flush_size=10,
                                chat_store=chat_store(tmp_path))
    assert type(chat) is LlamaMemory
    chat.put(user("I work as a nurse."))
    assert texts(memory, user_id="alice") == set()  # still only short-term
    for i in range(6):
        chat.put(bot(f"reply number {i} with some padding words"))
        chat.put(user(f"message number {i} with some padding words"))
    stored = memory.get_all(user_id="alice").results
    assert "I work as a nurse." in {m.memory for m in stored}
    assert {m.metadata.get("session_id") for m in stored} == {"s9"}


def test_llamaindex_sync_api_leaves_no_chat_store_connection_open(make_memory: Any,
                                                                  tmp_path: Path) -> None:
    """LlamaIndex's sync `put` runs each call in a new event loop; a chat store connection kept
    across calls outlives its loop and fails in its thread when collected (a warning in a later
    test). The tests' chat store (helpers_llamaindex.chat_store) keeps none, and still holds the
    session's messages."""
    import aiosqlite.core

    def open_connections() -> set[int]:
        gc.collect()
        return {id(o) for o in gc.get_objects()
                if isinstance(o, aiosqlite.core.Connection) and o._running}

    before = open_connections()
    chat = memstack_chat_memory(make_memory(), user_id="alice", session_id="s5",
                                chat_store=chat_store(tmp_path))
    chat.put(user("I work as a nurse."))
    chat.put(bot("Noted."))
    assert [m.content for m in chat.get_all()] == ["I work as a nurse.", "Noted."]
    assert open_connections() - before == set()
