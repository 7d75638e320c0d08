"""End to end, offline: a LangGraph agent compiled with `store=MemstackStore(...)`, driven by
langchain-core's `GenericFakeChatModel`, calls the memory tools through LangGraph's `ToolNode`.

It stores a fact in one thread and finds it in another (a fresh thread: nothing carries over but
the store); another user's agent neither finds it nor can delete it by id. Runs on the fast
engine, on pgvector (a real embedded PostgreSQL) and on the embedded default (Chroma + MiniLM).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from memstack_langgraph import MemstackStore, create_memory_tools
from memstack_langgraph.tools import create_search_memory_tool

from memstack import Memory

FACT = "My favourite drink is green tea with jasmine"


def call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{n}",
                                              "type": "tool_call"}])


def build_agent(store: MemstackStore, script: list[AIMessage | str]) -> Any:
    """A ReAct loop: the fake model's scripted replies, the memory tools, one checkpointer."""
    model = GenericFakeChatModel(messages=iter(script))

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(create_memory_tools()))  # the graph's store
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(store=store, checkpointer=InMemorySaver())


def turn(graph: Any, thread: str, user: str, text: str) -> list[Any]:
    cfg = {"configurable": {"thread_id": thread, "user_id": user}}
    return graph.invoke({"messages": [HumanMessage(text)]}, cfg)["messages"]


def tool_output(messages: list[Any]) -> str:
    [msg] = [m for m in messages if isinstance(m, ToolMessage)]
    assert msg.status != "error", msg.content
    return str(msg.content)


SCRIPT: list[AIMessage | str] = [
    call("manage_memory", {"content": FACT}, 1), "Noted.",
    call("search_memory", {"query": "what do I like to drink?"}, 2), "You like green tea.",
    call("search_memory", {"query": "what do I like to drink?"}, 3), "I don't know yet.",
]


@pytest.mark.parametrize("engine", ["fast", "pgvector", "default"])
def test_fact_stored_in_one_thread_is_found_in_another_only_by_its_user(
        engine: str, engines: Callable[[str], Memory]) -> None:
    memory = engines(engine)
    store = MemstackStore(memory)
    graph = build_agent(store, SCRIPT)

    first = turn(graph, "thread-1", "alice", "Remember: I love green tea with jasmine.")
    assert tool_output(first).startswith("created memory ")

    second = turn(graph, "thread-2", "alice", "What do I like to drink?")
    assert [m.content for m in second if isinstance(m, HumanMessage)] == \
        ["What do I like to drink?"]  # a fresh thread: only the store carries the fact
    found = json.loads(tool_output(second))
    assert [f["value"] for f in found] == [{"content": FACT}]
    assert found[0]["namespace"] == ["alice", "memories"] and found[0]["score"] is not None

    third = turn(graph, "thread-3", "bob", "What do I like to drink?")
    assert json.loads(tool_output(third)) == []

    [mem] = memory.get_all(user_id="alice", agent_id="langgraph").results
    assert json.loads(mem.metadata["lg_value"]) == {"content": FACT}
    assert [h.event for h in memory.history(mem.id)] == ["ADD"]
    assert memory.get_all(user_id="bob", agent_id="langgraph").results == []


def test_another_user_cannot_delete_by_id(engines: Callable[[str], Memory]) -> None:
    store = MemstackStore(engines("fast"))
    alice_key = "11111111-2222-3333-4444-555555555555"
    store.put(("alice", "memories"), alice_key, {"content": FACT})
    graph = build_agent(store, [
        call("manage_memory", {"action": "delete", "id": alice_key}, 1), "Deleted.",
        call("manage_memory", {"action": "update", "id": alice_key, "content": "coffee"}, 2),
        "Updated.",
    ])
    turn(graph, "t-bob", "bob", "Forget what Alice drinks.")
    turn(graph, "t-bob", "bob", "Alice drinks coffee now.")
    assert store.get(("alice", "memories"), alice_key).value == {"content": FACT}
    assert store.get(("bob", "memories"), alice_key).value == {"content": "coffee"}


def test_async_agent(engines: Callable[[str], Memory]) -> None:
    store = MemstackStore(engines("fast"))
    graph = build_agent(store, SCRIPT)

    async def run() -> tuple[list[Any], list[Any]]:
        cfg1 = {"configurable": {"thread_id": "a1", "user_id": "carol"}}
        cfg2 = {"configurable": {"thread_id": "a2", "user_id": "carol"}}
        first = await graph.ainvoke({"messages": [HumanMessage("remember this")]}, cfg1)
        second = await graph.ainvoke({"messages": [HumanMessage("what do I drink?")]}, cfg2)
        return first["messages"], second["messages"]

    first, second = asyncio.run(run())
    assert tool_output(first).startswith("created memory ")
    assert [f["value"] for f in json.loads(tool_output(second))] == [{"content": FACT}]


def test_tools_need_the_user_from_the_config(engines: Callable[[str], Memory]) -> None:
    store = MemstackStore(engines("fast"))
    tool = create_search_memory_tool(store=store)
    with pytest.raises(ValueError, match=r"config\['configurable'\]\['user_id'\]"):
        tool.invoke({"query": "tea"}, {"configurable": {"thread_id": "x"}})
    store.put(("dave", "memories"), "k", {"content": "dave likes tea"})
    out = json.loads(tool.invoke({"query": "tea"}, {"configurable": {"user_id": "dave"}}))
    assert [o["id"] for o in out] == ["k"]
