"""The `anthropic` LLM against the loopback server: the Messages API request and its answers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from memstack_anthropic.llm import to_anthropic
from memstack_anthropic.testing import FakeAnthropicServer, Reply

from memstack.capabilities import STRUCTURED_OUTPUT
from memstack.errors import InvalidInput, ProviderBadRequest, ProviderBadResponse
from memstack.models import ChatMessage
from memstack.protocols import LLM

SCHEMA = {
    "type": "object",
    "properties": {"facts": {"type": "array", "items": {"type": "string"}}},
    "required": ["facts"],
    "additionalProperties": False,
}


def msgs(*pairs: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=r, content=c) for r, c in pairs]  # type: ignore[arg-type]


def test_system_messages_go_to_the_top_level_system_parameter(server, build):
    llm = build(max_tokens=321)
    assert isinstance(llm, LLM)
    out = llm.chat(msgs(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"),
                        ("system", "Answer in French."), ("user", "2+2?")))
    assert out == "echo: 2+2?"
    (req,) = server.message_requests
    assert req.headers["anthropic-version"]
    assert server.api_key in (req.headers.get("x-api-key", ""), req.headers.get("authorization",
                                                                                   "")[7:])
    body = req.body
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [{"role": "user", "content": "Hi"},
                                {"role": "assistant", "content": "Hello!"},
                                {"role": "user", "content": "2+2?"}]
    assert body["model"] == "claude-test" and body["max_tokens"] == 321
    assert "tools" not in body and "temperature" not in body


def test_conversation_shape_is_made_valid():
    system, turns = to_anthropic([
        ChatMessage(role="assistant", content="Earlier answer"),
        ChatMessage(role="user", content="a", name="ada"),
        ChatMessage(role="user", content="b"),
        ChatMessage(role="tool", content="42", name="calc"),
        ChatMessage(role="user", content="   "),
    ])
    assert system is None
    assert turns[0]["role"] == "user"  # the API wants a user turn first
    assert turns[1] == {"role": "assistant", "content": "Earlier answer"}
    assert turns[2] == {"role": "user",
                        "content": "ada: a\n\nb\n\nTool output (calc):\n42\n\n(empty)"}
    assert len(turns) == 3


def test_only_system_text_becomes_the_user_turn(server, build):
    build().chat(msgs(("system", "List three colours.")))
    body = server.message_requests[0].body
    assert body["messages"] == [{"role": "user", "content": "List three colours."}]
    assert "system" not in body


def test_empty_conversation_is_invalid_input_without_a_request(server, build):
    with pytest.raises(InvalidInput):
        build().chat([])
    assert server.requests == []


def test_temperature_is_sent_when_set(server, build):
    build(temperature=0.2).chat(msgs(("user", "x")))
    assert server.message_requests[0].body["temperature"] == 0.2


def test_structured_output_forces_a_tool_and_returns_its_input(server, build):
    llm = build()
    assert STRUCTURED_OUTPUT in llm.capabilities
    server.add_answer({"facts": ["likes tea"]})
    out = llm.chat(msgs(("system", "Extract facts."), ("user", "I like tea")),
                   response_schema=SCHEMA, schema_name="fact extraction")
    assert json.loads(out) == {"facts": ["likes tea"]}
    body = server.message_requests[0].body
    assert body["tools"] == [{"name": "fact_extraction",
                              "description": "Record the answer. Its input is the complete answer.",
                              "input_schema": SCHEMA}]
    assert body["tool_choice"] == {"type": "tool", "name": "fact_extraction"}
    assert body["system"] == "Extract facts."


def test_unscripted_structured_answer_is_an_instance_of_the_schema(server, build):
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3},
                                               "tag": {"enum": ["a", "b"]}},
              "required": ["n", "tag"]}
    assert json.loads(build().chat(msgs(("user", "x")), response_schema=schema)) == \
        {"n": 3, "tag": "a"}


def test_non_object_schema_is_wrapped_and_unwrapped(server, build):
    server.add_answer({"value": ["x", "y"]})
    out = build().chat(msgs(("user", "x")), response_schema={"type": "array",
                                                              "items": {"type": "string"}})
    assert json.loads(out) == ["x", "y"]
    assert server.message_requests[0].body["tools"][0]["input_schema"]["type"] == "object"


def test_json_schema_mode_uses_output_config(server, build):
    llm = build(structured_output="json_schema")
    assert STRUCTURED_OUTPUT in llm.capabilities
    server.add_answer({"facts": []})
    assert json.loads(llm.chat(msgs(("user", "x")), response_schema=SCHEMA)) == {"facts": []}
    body = server.message_requests[0].body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in body


def test_json_schema_mode_on_a_model_without_it_hints_at_tools():
    with FakeAnthropicServer(supports_output_format=False) as srv:
        from memstack.registry import get_registry

        llm = get_registry().build("llm", "anthropic", {
            "base_url": srv.base_url, "api_key": srv.api_key, "model": "claude-test",
            "structured_output": "json_schema"})
        with pytest.raises(ProviderBadRequest) as info:
            llm.chat(msgs(("user", "x")), response_schema=SCHEMA)
        assert "structured_output: tools" in info.value.hint
        llm.close()


def test_none_mode_puts_the_schema_in_the_system_prompt(server, build):
    llm = build(structured_output="none")
    assert STRUCTURED_OUTPUT not in llm.capabilities
    server.add_answer('```json\n{"facts": ["z"]}\n```')
    out = llm.chat(msgs(("system", "Extract."), ("user", "x")), response_schema=SCHEMA)
    assert json.loads(out) == {"facts": ["z"]}
    system = server.message_requests[0].body["system"]
    assert system.startswith("Extract.") and json.dumps(SCHEMA) in system


def test_a_refusal_is_a_typed_error(server, build):
    server.enqueue(Reply(200, {"id": "msg_01", "type": "message", "role": "assistant",
                               "model": "claude-test", "content": [], "stop_reason": "refusal",
                               "stop_sequence": None,
                               "usage": {"input_tokens": 3, "output_tokens": 0}}))
    with pytest.raises(ProviderBadResponse, match="refused"):
        build().chat(msgs(("user", "x")))


def test_truncated_answer_says_raise_max_tokens(server, build):
    server.enqueue(Reply(200, {"id": "msg_01", "type": "message", "role": "assistant",
                               "model": "claude-test", "content": [],
                               "stop_reason": "max_tokens", "stop_sequence": None,
                               "usage": {"input_tokens": 3, "output_tokens": 5}}))
    with pytest.raises(ProviderBadResponse, match="cut off") as info:
        build().chat(msgs(("user", "x")), response_schema=SCHEMA)
    assert "max_tokens" in info.value.hint


def test_concurrent_calls_from_threads(server, build):
    llm = build()
    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda i: llm.chat(msgs(("user", f"q{i}"))), range(32)))
    assert outs == [f"echo: q{i}" for i in range(32)]
