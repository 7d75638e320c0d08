"""`memstack_tools` driven by the SDK's own runner and `ScriptedModel` (hashing + memory store)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, Runner
from agents.exceptions import UserError
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from helpers_openai_agents import fact_llm, fast_config, tool_outputs
from memstack_openai_agents import MemstackContext, memstack_tools

import memstack
from memstack.errors import ConfigError, InvalidInput


def run_tool(memory: Any, tool: str, args: dict[str, Any], context: Any = None,
             **tool_options: Any) -> str:
    """One run: the model calls `tool` with `args`, then answers with the tool's output."""
    model = ScriptedModel([
        [function_call(tool, args, call_id="call-1")],
        ModelStep.respond(lambda call: [assistant_message(tool_outputs(call.input)[-1])]),
    ])
    agent = Agent(name="assistant", model=model, tools=memstack_tools(memory, **tool_options))
    result = asyncio.run(Runner.run(agent, "go", context=context))
    model.assert_complete()
    return str(result.final_output)


def texts(memory: Any, **scope: str) -> set[str]:
    return {m.memory for m in memory.get_all(**scope).results}


def test_openai_agents_tools_schema_hides_the_scope(make_memory: Any) -> None:
    tools = {t.name: t for t in memstack_tools(make_memory())}
    assert set(tools) == {"remember", "recall", "forget"}
    assert {n: list(t.params_json_schema["properties"]) for n, t in tools.items()} == {
        "remember": ["fact"], "recall": ["query"], "forget": ["memory_id"]}
    assert "forget" not in {t.name for t in memstack_tools(make_memory(), forget=False)}
    with pytest.raises(InvalidInput, match="top_k must be a positive integer, got 0"):
        memstack_tools(make_memory(), top_k=0)


def test_openai_agents_remember_and_recall_per_user(make_memory: Any) -> None:
    memory = make_memory()
    alice, bob = MemstackContext(user_id="alice"), {"user_id": "bob"}
    out = run_tool(memory, "remember", {"fact": "Alice is vegetarian"}, alice)
    assert out.startswith("ADD ") and out.endswith(": Alice is vegetarian")
    run_tool(memory, "remember", {"fact": "Bob is allergic to cats"}, bob)
    assert texts(memory, user_id="alice") == {"Alice is vegetarian"}
    found = run_tool(memory, "recall", {"query": "is she vegetarian"}, alice)
    assert "Alice is vegetarian" in found and "cats" not in found
    assert "vegetarian" not in run_tool(memory, "recall", {"query": "vegetarian"}, bob)
    again = run_tool(memory, "remember", {"fact": "Alice is vegetarian"}, alice)
    assert again == "nothing new to remember"


def test_openai_agents_fixed_scope_wins_over_context(make_memory: Any) -> None:
    memory = make_memory()
    run_tool(memory, "remember", {"fact": "Likes jazz"}, {"user_id": "mallory"},
             user_id="alice", agent_id="dj")
    assert texts(memory, user_id="alice", agent_id="dj") == {"Likes jazz"}
    assert texts(memory, user_id="mallory") == set()


def test_openai_agents_forget_only_within_scope(make_memory: Any) -> None:
    memory = make_memory()
    event = memory.add("Alice's PIN hint is 'garden'", user_id="alice", infer=False).results[0]
    out = run_tool(memory, "forget", {"memory_id": event.id}, {"user_id": "bob"})
    assert out.startswith("error: ") and event.id in out
    assert memory.get(event.id) is not None
    out = run_tool(memory, "forget", {"memory_id": event.id}, {"user_id": "alice"})
    assert out == f"DELETE {event.id}: Alice's PIN hint is 'garden'"
    assert memory.get(event.id) is None


def test_openai_agents_model_mistakes_come_back_as_tool_results(make_memory: Any) -> None:
    out = run_tool(make_memory(), "remember", {"fact": "   "}, {"user_id": "alice"})
    assert out.startswith("error: ") and "empty" in out


def test_openai_agents_missing_scope_fails_the_run(make_memory: Any) -> None:
    with pytest.raises(UserError, match="no memstack scope") as info:
        run_tool(make_memory(), "recall", {"query": "anything"}, context=None)
    assert isinstance(info.value.__cause__, ConfigError)


def test_openai_agents_remember_infers_facts_with_an_llm(make_memory: Any) -> None:
    memory = make_memory(llm=fact_llm())
    out = run_tool(memory, "remember", {"fact": "My favourite tea is sencha."},
                   {"user_id": "alice"})
    assert out.endswith(": User's favourite tea is sencha")
    assert texts(memory, user_id="alice") == {"User's favourite tea is sencha"}


def test_openai_agents_tools_work_with_async_memory(tmp_path: Any) -> None:
    async def run() -> tuple[str, str]:
        async with memstack.AsyncMemory(fast_config(tmp_path)) as memory:
            tools = memstack_tools(memory, top_k=1)
            script = ScriptedModel([
                [function_call("remember", {"fact": "Owns a red bike"}, call_id="c1")],
                [function_call("recall", {"query": "bike"}, call_id="c2")],
                ModelStep.respond(lambda call: [assistant_message(tool_outputs(call.input)[-1])]),
            ])
            agent = Agent(name="a", model=script, tools=tools)
            mine = await Runner.run(agent, "go", context={"user_id": "alice"})
            theirs = await memory.search("bike", user_id="bob")
            return str(mine.final_output), str(theirs.results)

    mine, theirs = asyncio.run(run())
    assert mine.endswith(": Owns a red bike")
    assert theirs == "[]"
