"""The fake server itself refuses what the real API refuses, so passing tests mean something."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from memstack_anthropic.testing import FakeAnthropicServer


def post(srv: FakeAnthropicServer, body: Any, headers: dict[str, str] | None = None):
    req = urllib.request.Request(srv.base_url + "/v1/messages", data=json.dumps(body).encode(),
                                 method="POST", headers={
                                     "x-api-key": srv.api_key, "anthropic-version": "2023-06-01",
                                     "content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def srv():
    with FakeAnthropicServer() as s:
        yield s


USER = [{"role": "user", "content": "hi"}]
OK = {"model": "claude-test", "max_tokens": 10}


@pytest.mark.parametrize("body, needle", [
    ({"model": "claude-test", "messages": USER}, "max_tokens"),
    ({**OK, "messages": [{"role": "system", "content": "x"}, *USER]}, "top-level `system`"),
    ({**OK, "messages": [{"role": "assistant", "content": "x"}]}, "first message"),
    ({**OK, "messages": [{"role": "user", "content": " "}]}, "non-whitespace"),
    ({**OK, "messages": USER, "tools": [{"name": "a b", "input_schema": {"type": "object"}}]},
     "pattern"),
    ({**OK, "messages": USER, "tools": [{"name": "t", "input_schema": {"type": "array"}}]},
     "object"),
    ({**OK, "messages": USER, "tool_choice": {"type": "tool", "name": "t"}}, "tools"),
    ({**OK, "messages": USER, "temperature": 1.5}, "temperature"),
])
def test_malformed_requests_are_refused_and_recorded(srv, body, needle):
    status, answer = post(srv, body)
    assert status == 400
    assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    assert needle in answer["error"]["message"]
    assert len(srv.violations) == 1


def test_missing_version_header_is_refused(srv):
    req = urllib.request.Request(srv.base_url + "/v1/messages",
                                 data=json.dumps({**OK, "messages": USER}).encode(),
                                 method="POST", headers={"x-api-key": srv.api_key,
                                                         "content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 400 and b"anthropic-version" in info.value.read()


def test_a_forced_tool_gets_a_tool_use_block(srv):
    tools = [{"name": "facts", "input_schema": {"type": "object", "properties": {
        "facts": {"type": "array", "items": {"type": "string"}}}, "required": ["facts"]}}]
    srv.add_answer({"facts": ["a"]})
    status, answer = post(srv, {**OK, "messages": USER, "tools": tools,
                                "tool_choice": {"type": "tool", "name": "facts"}})
    assert status == 200 and srv.violations == []
    assert answer["type"] == "message" and answer["id"].startswith("msg_")
    assert answer["stop_reason"] == "tool_use"
    (block,) = answer["content"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_")
    assert block["name"] == "facts" and block["input"] == {"facts": ["a"]}
    assert set(answer["usage"]) >= {"input_tokens", "output_tokens"}


def test_config_helper_builds_a_working_provider():
    from memstack.models import ChatMessage
    from memstack.registry import get_registry

    with FakeAnthropicServer() as s:
        s.add_answer("hello")
        llm = get_registry().build("llm", "anthropic", s.llm_config())
        assert llm.chat([ChatMessage(content="hi")]) == "hello"
        llm.close()
        assert s.violations == []
