"""The fake server itself refuses what the real API refuses, so passing tests mean something."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from memstack_openai.testing import FakeOpenAIServer, example_for


def post(srv: FakeOpenAIServer, path: str, body: Any, headers: dict[str, str] | None = None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(srv.url + path, data=data, method="POST", headers={
        "Authorization": f"Bearer {srv.api_key}", "Content-Type": "application/json",
        **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def srv():
    with FakeOpenAIServer() as s:
        yield s


USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("body, needle", [
    ({"messages": USER}, "model"),
    ({"model": "gpt-test", "messages": []}, "messages"),
    ({"model": "gpt-test", "messages": [{"role": "robot", "content": "x"}]}, "robot"),
    ({"model": "gpt-test", "messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
    ({"model": "gpt-test", "messages": USER, "response_format": {"type": "json_object"}}, "json"),
    ({"model": "gpt-test", "messages": USER, "response_format": {
        "type": "json_schema", "json_schema": {"name": "bad name", "schema": {}}}}, "name"),
    ({"model": "gpt-test", "messages": USER, "tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "array"}}}]}, "object"),
    ({"model": "gpt-test", "messages": USER, "tool_choice": "auto"}, "tools"),
    ({"model": "gpt-test", "messages": USER, "temperature": 3}, "temperature"),
])
def test_malformed_chat_requests_are_refused_and_recorded(srv, body, needle):
    status, answer = post(srv, "/v1/chat/completions", body)
    assert status == 400
    assert needle in answer["error"]["message"]
    assert set(answer["error"]) == {"message", "type", "param", "code"}
    assert len(srv.violations) == 1


def test_a_well_formed_request_gets_an_api_shaped_answer(srv):
    status, answer = post(srv, "/v1/chat/completions", {"model": "gpt-test", "messages": USER})
    assert status == 200 and srv.violations == []
    assert answer["object"] == "chat.completion" and answer["id"].startswith("chatcmpl-")
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "echo: hi",
                                               "refusal": None, "annotations": []}
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_auth_is_checked(srv):
    status, answer = post(srv, "/v1/embeddings", {"model": "embed-test", "input": "x"},
                          headers={"Authorization": "Bearer sk-nope-12345678"})
    assert status == 401 and answer["error"]["code"] == "invalid_api_key"
    assert "sk-nope-12345678" not in answer["error"]["message"]  # masked, like the real API


def test_embeddings_refuse_empty_strings(srv):
    status, _ = post(srv, "/v1/embeddings", {"model": "embed-test", "input": ["a", ""]})
    assert status == 400 and srv.violations


def test_chat_handler_scripts_answers_from_the_request():
    def handler(body: dict[str, Any]) -> str:
        return json.dumps({"n": len(body["messages"])})

    with FakeOpenAIServer(chat_handler=handler) as s:
        status, answer = post(s, "/v1/chat/completions", {"model": "gpt-test",
                                                          "messages": USER * 3})
    assert status == 200
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"n": 3}


def test_example_for_handles_common_schema_shapes():
    assert example_for({"type": "object", "properties": {"a": {"type": "integer"},
                                                          "b": {"type": ["string", "null"]}}}) \
        == {"a": 0, "b": "example"}
    assert example_for({"anyOf": [{"type": "null"}, {"type": "number", "minimum": 2}]}) == 2.0
    assert example_for({"type": "array", "items": {"const": 1}, "minItems": 2}) == [1, 1]


def test_config_helpers_build_working_providers():
    from memstack.models import ChatMessage
    from memstack.registry import get_registry

    with FakeOpenAIServer() as s:
        s.add_chat_answer({"facts": ["x"]})
        llm = get_registry().build("llm", "openai", s.llm_config())
        emb = get_registry().build("embedder", "openai", s.embedder_config())
        assert json.loads(llm.chat([ChatMessage(content="hi")])) == {"facts": ["x"]}
        assert emb.dimension == 64 and len(emb.embed(["a"])[0]) == 64
        llm.close()
        emb.close()
        assert s.violations == []
