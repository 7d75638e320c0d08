"""The engine's inference path end to end through memstack-openai, over real HTTP against a
loopback server that speaks the OpenAI wire format: add → facts → reconcile → events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from memstack_openai.testing import FakeOpenAIServer, openai_error

from memstack import Memory
from memstack.errors import ProviderError


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as s:
        yield s
        assert s.violations == []  # every request we sent was a valid OpenAI request


@pytest.fixture
def memory(server: FakeOpenAIServer, tmp_path: Path) -> Iterator[Memory]:
    m = Memory({
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "openai", "config": server.embedder_config()},
        "llm": {"provider": "openai", "config": server.llm_config()},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
    })
    yield m
    m.close()


def test_add_extracts_reconciles_and_updates(server: FakeOpenAIServer, memory: Memory) -> None:
    server.add_chat_answer({"facts": ["Sam lives in Oslo", "Sam is a chef"]},
                           {"memory": [{"id": "a", "text": "Sam lives in Oslo", "event": "ADD"},
                                       {"id": "b", "text": "Sam is a chef", "event": "ADD"}]})
    first = memory.add([{"role": "user", "content": "I'm Sam, a chef in Oslo"}], user_id="sam")
    assert first.inferred and sorted(e.memory for e in first.results) == [
        "Sam is a chef", "Sam lives in Oslo"]
    chats = server.chat_requests
    assert len(chats) == 2
    body = chats[0].body
    assert body["model"] == "gpt-test" and body["response_format"]["type"] == "json_schema"
    assert "I'm Sam, a chef in Oslo" in body["messages"][-1]["content"]
    oslo = next(e.id for e in first.results if "Oslo" in e.memory)

    def reconcile(request: dict) -> str:
        if "new_facts" not in request["messages"][-1]["content"]:
            return json.dumps({"facts": ["Sam moved to Bergen"]})
        existing = json.loads(request["messages"][-1]["content"])["existing_memories"]
        short = next(e["id"] for e in existing if e["text"] == "Sam lives in Oslo")
        assert all(len(e["id"]) < 4 for e in existing)  # short ids, never the real uuids
        return json.dumps({"memory": [{"id": short, "text": "Sam lives in Bergen",
                                       "event": "UPDATE", "old_memory": "Sam lives in Oslo"}]})

    server.chat_handler = reconcile
    second = memory.add("I moved to Bergen last month", user_id="sam")
    assert [(e.event, e.supersedes, e.previous_memory, e.memory) for e in second.results] == [
        ("UPDATE", oslo, "Sam lives in Oslo", "Sam lives in Bergen")]
    assert [(h.event, h.new_memory) for h in memory.history(oslo)] == [
        ("ADD", "Sam lives in Oslo"), ("UPDATE", "Sam lives in Bergen")]
    assert server.embedding_requests  # the openai embedder was used for facts and search


def test_provider_error_is_typed_and_leaves_store_unchanged(server: FakeOpenAIServer,
                                                            memory: Memory) -> None:
    memory.add("Sam likes tea", user_id="sam", infer=False)
    before = [(i.id, i.memory) for i in memory.get_all(user_id="sam").results]
    server.enqueue(openai_error(401, "Incorrect API key provided"))
    with pytest.raises(ProviderError) as err:
        memory.add("I now prefer coffee", user_id="sam")
    assert "openai" in str(err.value) and server.api_key not in str(err.value)
    assert [(i.id, i.memory) for i in memory.get_all(user_id="sam").results] == before
    assert memory.history_store.pending() == []
