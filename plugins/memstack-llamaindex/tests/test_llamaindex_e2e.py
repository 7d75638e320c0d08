"""End to end with LlamaIndex's own fake LLMs: a chat engine (`MockLLM`) and a workflow agent
(`MockFunctionCallingLLM`). Alice says a fact in one conversation; a later conversation with a
fresh LlamaIndex memory (new session, new chat store) gets it in its prompt; Bob's does not.
Runs on the quick engine, on PostgreSQL + pgvector, and on the embedded default (Chroma + MiniLM).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from helpers_llamaindex import chat_store, fact_llm
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms.mock import MockFunctionCallingLLMWithChatMemoryOfLastCall, MockLLM
from memstack_llamaindex import memstack_chat_memory

# LlamaIndex workflows inspect pydantic objects with inspect.getmembers, which warns.
pytestmark = [pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
              pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211")]


def chat(memory: Any, user_id: str, session: str, text: str, tmp: Path) -> str:
    """One turn of a SimpleChatEngine; MockLLM answers with the prompt it was given."""
    engine = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=memstack_chat_memory(memory, user_id=user_id, session_id=session,
                                                   chat_store=chat_store(tmp)))
    return engine.chat(text).response


@pytest.mark.parametrize("kind", ["fast", "pgvector", "default"])
def test_llamaindex_chat_engine_remembers_across_conversations(make_memory: Any, kind: str,
                                                               tmp_path: Path) -> None:
    memory = make_memory(kind)
    chat(memory, "alice", "alice-1", "My favourite colour is teal.", tmp_path)
    chat(memory, "bob", "bob-1", "I am learning the cello.", tmp_path)
    prompt = chat(memory, "alice", "alice-2", "Which colour do I like best?", tmp_path)
    assert "<memstack>\n- My favourite colour is teal." in prompt
    assert "cello" not in prompt
    bob_prompt = chat(memory, "bob", "bob-2", "Which colour do I like best?", tmp_path)
    assert "teal" not in bob_prompt
    assert "cello" in bob_prompt  # Bob's own memory is there; Alice's is not


async def agent_turn(memory: Any, user_id: str, session: str, text: str, tmp: Path) -> str:
    """One run of a FunctionAgent; returns the memory system message the LLM received."""
    llm = MockFunctionCallingLLMWithChatMemoryOfLastCall()
    agent = FunctionAgent(llm=llm, tools=[], system_prompt="You are a helpful assistant.")
    chat_memory = memstack_chat_memory(memory, user_id=user_id, session_id=session,
                                       chat_store=chat_store(tmp))
    await agent.run(text, memory=chat_memory)
    assert llm.last_chat_messages is not None
    return "\n".join(m.content or "" for m in llm.last_chat_messages if m.role == "system")


@pytest.mark.parametrize("kind", ["fast", "pgvector"])
def test_llamaindex_agent_remembers_inferred_facts_per_user(make_memory: Any, kind: str,
                                                            tmp_path: Path) -> None:
    """With an LLM in memstack, the agent's memory keeps extracted facts, not raw messages."""
    memory = make_memory(kind, llm=fact_llm())

    async def run() -> tuple[str, str]:
        await agent_turn(memory, "alice", "a-1", "My home town is Porto.", tmp_path)
        await agent_turn(memory, "bob", "b-1", "My home town is Oslo.", tmp_path)
        return (await agent_turn(memory, "alice", "a-2", "Where did I grow up? home town?",
                                 tmp_path),
                await agent_turn(memory, "carol", "c-1", "Where did I grow up? home town?",
                                 tmp_path))

    alice, carol = asyncio.run(run())
    assert "- User's home town is Porto" in alice
    assert "Oslo" not in alice
    assert "Porto" not in carol and "<memstack>" not in carol
    assert {m.memory for m in memory.get_all(user_id="bob").results} == {
        "User's home town is Oslo"}
