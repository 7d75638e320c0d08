"""End to end with the SDK's own runner and `ScriptedModel` (its `Model` interface, offline).

Alice's agent stores a fact in one run and finds it in another, separate run; Bob's agent —
same agent definition, another run context — cannot. Two shapes: the memory tools, and the
automatic pair (`RememberingSession` + `memstack_recall_filter`). On the quick engine,
PostgreSQL + pgvector, and (tools) the embedded default: Chroma + MiniLM.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, SQLiteSession
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from helpers_openai_agents import fact_llm, tool_outputs
from memstack_openai_agents import (
    MemstackContext,
    RememberingSession,
    memstack_recall_filter,
    memstack_tools,
)


def echo_last_tool_output() -> ModelStep:
    return ModelStep.respond(lambda call: [assistant_message(tool_outputs(call.input)[-1])])


@pytest.mark.parametrize("kind", ["fast", "pgvector", "default"])
def test_openai_agents_tools_remember_in_one_run_recall_in_another(make_memory: Any,
                                                                    kind: str) -> None:
    memory = make_memory(kind)
    agent = Agent(name="assistant", instructions="Use your memory tools.",
                  tools=memstack_tools(memory))

    async def run(user: str, text: str, steps: list[Any]) -> str:
        model = ScriptedModel(steps)
        result = await Runner.run(agent.clone(model=model), text,
                                  context=MemstackContext(user_id=user))
        model.assert_complete()
        return str(result.final_output)

    async def scenario() -> tuple[str, str]:
        await run("alice", "I'm flying to Tokyo on May 3rd.", [
            [function_call("remember", {"fact": "Alice flies to Tokyo on May 3rd"},
                           call_id="c1")],
            [assistant_message("Noted, have a good trip!")]])
        await run("bob", "I never fly; I take trains.", [
            [function_call("remember", {"fact": "Bob prefers trains to flying"},
                           call_id="c2")],
            [assistant_message("Trains it is.")]])
        recall = [[function_call("recall", {"query": "When do I fly to Tokyo?"},
                                 call_id="c3")], echo_last_tool_output()]
        return (await run("alice", "When is my flight?", recall),
                await run("bob", "When is my flight?", list(recall)))

    alice, bob = asyncio.run(scenario())
    assert "Alice flies to Tokyo on May 3rd" in alice
    assert "Tokyo" not in bob
    assert "Bob prefers trains to flying" in bob  # Bob's own memory is there


@pytest.mark.parametrize("kind", ["fast", "pgvector"])
def test_openai_agents_session_remembers_and_filter_recalls(make_memory: Any, kind: str,
                                                            tmp_path: Any) -> None:
    """No tool calls: the session stores what the user says (memstack's LLM extracts the
    fact), the input filter puts relevant memories into the next run's instructions."""
    memory = make_memory(kind, llm=fact_llm())
    agent = Agent(name="assistant", instructions="Be brief.")
    config = RunConfig(call_model_input_filter=memstack_recall_filter(memory))
    db = str(tmp_path / "sessions.db")

    async def run(user: str, session: str, text: str) -> str:
        model = ScriptedModel([[assistant_message("ok")]])
        chat = RememberingSession(SQLiteSession(session, db), memory, user_id=user)
        await Runner.run(agent.clone(model=model), text, session=chat, run_config=config,
                         context=MemstackContext(user_id=user))
        assert model.last_call is not None
        return model.last_call.system_instructions or ""

    async def scenario() -> tuple[str, str, list[Any]]:
        await run("alice", "alice-1", "My dentist is Dr. Silva.")
        await run("bob", "bob-1", "My dentist is Dr. Berg.")
        alice = await run("alice", "alice-2", "Who is my dentist again?")
        carol = await run("carol", "carol-1", "Who is my dentist again?")
        history = await SQLiteSession("alice-1", db).get_items()
        return alice, carol, history

    alice, carol, history = asyncio.run(scenario())
    assert alice.startswith("Be brief.\n\nRelevant memories about the user")
    assert "- User's dentist is Dr. Silva" in alice
    assert "Berg" not in alice
    assert carol == "Be brief."  # nothing remembered for Carol: instructions untouched
    assert len(history) == 2  # the wrapped session still keeps the conversation
    stored = memory.get_all(user_id="alice").results
    assert [(m.memory, m.metadata) for m in stored] == [
        ("User's dentist is Dr. Silva", {"session_id": "alice-1"})]
