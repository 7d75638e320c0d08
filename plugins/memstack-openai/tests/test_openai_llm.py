"""The `openai` LLM against the loopback server: request shapes and answers, per mode."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from memstack_openai.testing import FakeOpenAIServer, Reply

from memstack.capabilities import STRUCTURED_OUTPUT
from memstack.errors import ProviderBadRequest, ProviderBadResponse, ProviderError
from memstack.models import ChatMessage
from memstack.protocols import LLM

STRICT = {
    "type": "object",
    "properties": {"facts": {"type": "array", "items": {"type": "string"}}},
    "required": ["facts"],
    "additionalProperties": False,
}
LOOSE = {"type": "object", "properties": {"facts": {"type": "array", "items": {"type": "string"}},
                                          "note": {"type": "string"}}, "required": ["facts"]}


def msgs(*pairs: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=r, content=c) for r, c in pairs]  # type: ignore[arg-type]


def test_plain_chat_sends_the_conversation_and_returns_the_text(server, build):
    llm = build("llm")
    assert isinstance(llm, LLM)
    out = llm.chat(msgs(("system", "Be brief."), ("user", "Hi there"),
                        ("assistant", "Hello!"), ("user", "What is 2+2?")))
    assert out == "echo: What is 2+2?"
    (req,) = server.chat_requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {server.api_key}"
    assert req.body["model"] == "gpt-test"
    assert [m["role"] for m in req.body["messages"]] == ["system", "user", "assistant", "user"]
    assert "response_format" not in req.body and "tools" not in req.body
    assert "temperature" not in req.body  # unset: the server's default


def test_names_are_sanitised_and_tool_messages_become_user_text(server, build):
    llm = build("llm")
    llm.chat([ChatMessage(role="user", content="hi", name="Ada Lovelace"),
              ChatMessage(role="tool", content="42", name="calc")])
    sent = server.chat_requests[0].body["messages"]
    assert sent[0] == {"role": "user", "content": "hi", "name": "Ada_Lovelace"}
    assert sent[1] == {"role": "user", "content": "Tool output (calc):\n42"}


def test_temperature_and_max_tokens_are_sent(server, build):
    build("llm", temperature=0, max_tokens=50).chat(msgs(("user", "x")))
    body = server.chat_requests[0].body
    assert body["temperature"] == 0
    assert body["max_tokens"] == 50  # a custom base_url: the widely supported name


def test_json_schema_mode_sends_response_format_and_returns_the_json(server, build):
    llm = build("llm")
    assert STRUCTURED_OUTPUT in llm.capabilities
    server.add_chat_answer({"facts": ["likes tea"]})
    out = llm.chat(msgs(("user", "I like tea")), response_schema=STRICT,
                   schema_name="fact extraction!")
    assert json.loads(out) == {"facts": ["likes tea"]}
    rf = server.chat_requests[0].body["response_format"]
    assert rf == {"type": "json_schema",
                  "json_schema": {"name": "fact_extraction", "schema": STRICT, "strict": True}}


def test_strict_is_off_for_schemas_strict_mode_would_reject(server, build):
    build("llm").chat(msgs(("user", "x")), response_schema=LOOSE)
    assert server.chat_requests[0].body["response_format"]["json_schema"]["strict"] is False


def test_strict_true_with_a_loose_schema_is_refused_by_the_server(server, build):
    with pytest.raises(ProviderBadRequest, match="additionalProperties") as info:
        build("llm", strict=True).chat(msgs(("user", "x")), response_schema=LOOSE)
    assert "structured_output" in info.value.hint
    assert server.violations  # the fake records it: the real API refuses it the same way
    server.violations.clear()


def test_unscripted_schema_answer_is_valid_json_for_the_schema(server, build):
    schema = {"type": "object", "properties": {
        "memory": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Item"}}},
        "required": ["memory"], "additionalProperties": False,
        "$defs": {"Item": {"type": "object", "properties": {
            "event": {"enum": ["ADD", "UPDATE"]}, "text": {"type": "string"}},
            "required": ["event", "text"], "additionalProperties": False}}}
    data = json.loads(build("llm").chat(msgs(("user", "x")), response_schema=schema))
    assert data == {"memory": [{"event": "ADD", "text": "example"}]}


def test_json_mode_puts_the_schema_in_the_system_prompt(server, build):
    llm = build("llm", structured_output="json_mode")
    assert STRUCTURED_OUTPUT not in llm.capabilities  # JSON, but the schema is not enforced
    server.add_chat_answer('```json\n{"facts": ["a"]}\n```')
    out = llm.chat(msgs(("system", "Extract facts."), ("user", "x")), response_schema=STRICT)
    assert json.loads(out) == {"facts": ["a"]}  # the code fence is removed
    body = server.chat_requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("Extract facts.")
    assert json.dumps(STRICT) in system["content"]
    assert len(body["messages"]) == 2


def test_tools_mode_forces_a_function_and_returns_its_arguments(server, build):
    llm = build("llm", structured_output="tools")
    assert STRUCTURED_OUTPUT in llm.capabilities
    server.add_chat_answer({"facts": ["b"]})
    out = llm.chat(msgs(("user", "x")), response_schema=STRICT, schema_name="facts")
    assert json.loads(out) == {"facts": ["b"]}
    body = server.chat_requests[0].body
    assert body["tools"][0]["type"] == "function"
    assert body["tools"][0]["function"]["name"] == "facts"
    assert body["tools"][0]["function"]["parameters"] == STRICT
    assert body["tool_choice"] == {"type": "function", "function": {"name": "facts"}}
    assert "response_format" not in body


def test_tools_mode_wraps_a_non_object_schema(server, build):
    llm = build("llm", structured_output="tools")
    server.add_chat_answer({"value": ["x", "y"]})
    out = llm.chat(msgs(("user", "x")), response_schema={"type": "array",
                                                          "items": {"type": "string"}})
    assert json.loads(out) == ["x", "y"]
    params = server.chat_requests[0].body["tools"][0]["function"]["parameters"]
    assert params["type"] == "object" and params["required"] == ["value"]


def test_none_mode_only_instructs(server, build):
    llm = build("llm", structured_output="none")
    out = llm.chat(msgs(("user", "x")), response_schema=STRICT)
    assert out == "echo: x"  # what the server said, unchanged
    body = server.chat_requests[0].body
    assert "response_format" not in body and "tools" not in body
    first = body["messages"][0]
    assert first["role"] == "system" and "JSON schema" in first["content"]


def test_a_server_without_json_schema_support_gets_a_useful_hint():
    with FakeOpenAIServer(supports=("json_object",)) as srv:
        from memstack.registry import get_registry

        llm = get_registry().build("llm", "openai", {"base_url": srv.base_url,
                                                     "api_key": srv.api_key, "model": "gpt-test"})
        with pytest.raises(ProviderBadRequest) as info:
            llm.chat(msgs(("user", "x")), response_schema=STRICT)
        assert "json_mode" in info.value.hint
        llm.close()


def test_a_refusal_is_a_typed_error(server, build):
    server.enqueue(Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                               "model": "gpt-test", "choices": [{
                                   "index": 0, "finish_reason": "stop", "logprobs": None,
                                   "message": {"role": "assistant", "content": None,
                                               "refusal": "I can't help with that."}}]}))
    with pytest.raises(ProviderBadResponse, match="refused"):
        build("llm").chat(msgs(("user", "x")), response_schema=STRICT)


def test_a_cut_off_json_answer_is_a_typed_error(server, build):
    server.enqueue(Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                               "model": "gpt-test", "choices": [{
                                   "index": 0, "finish_reason": "length", "logprobs": None,
                                   "message": {"role": "assistant", "content": '{"facts": ["a'}}]}))
    with pytest.raises(ProviderBadResponse, match="cut off") as info:
        build("llm").chat(msgs(("user", "x")), response_schema=STRICT)
    assert "max_tokens" in info.value.hint


def test_no_choices_is_a_typed_error(server, build):
    server.enqueue(Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                               "model": "gpt-test", "choices": []}))
    with pytest.raises(ProviderError, match="no choices"):
        build("llm").chat(msgs(("user", "x")))


def test_concurrent_calls_from_threads(server, build):
    llm = build("llm")
    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda i: llm.chat(msgs(("user", f"q{i}"))), range(32)))
    assert outs == [f"echo: q{i}" for i in range(32)]
    assert len(server.chat_requests) == 32
