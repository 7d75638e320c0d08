"""API keys never show: not in repr, dumps, JSON schema, config errors, logs or provider errors."""

from __future__ import annotations

import json
import logging

import pytest
from memstack_anthropic.config import AnthropicLLMConfig
from memstack_anthropic.testing import Reply

from memstack.errors import ConfigError
from memstack.models import ChatMessage
from memstack.registry import get_registry

KEY = "sk-ant-api03-TOPSECRET-0123456789abcdefghij"


def test_config_never_shows_the_key():
    cfg = AnthropicLLMConfig(api_key=KEY, extra_headers={"X-Proxy-Key": "TOPSECRET-hdr"})
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(),
                 json.dumps(cfg.model_json_schema()), repr(cfg.model_dump())):
        assert "TOPSECRET" not in text
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == KEY


def test_invalid_config_error_does_not_echo_the_key():
    with pytest.raises(ConfigError) as info:
        get_registry().build("llm", "anthropic", {"api_key": KEY, "max_tokens": 0})
    assert "max_tokens" in str(info.value) and "TOPSECRET" not in str(info.value)


def test_provider_repr_hides_the_key(server, build):
    assert "TOPSECRET" not in repr(build(api_key=KEY))


def test_extra_headers_are_sent(server, build):
    build(extra_headers={"X-Proxy-Key": "hdr-value"}).chat([ChatMessage(content="x")])
    assert server.message_requests[0].headers["x-proxy-key"] == "hdr-value"


def test_debug_logs_of_calls_and_failures_never_contain_the_key(server, build, caplog):
    server.api_key = KEY
    llm = build(api_key=KEY, max_retries=1)
    with caplog.at_level(logging.DEBUG):
        llm.chat([ChatMessage(content="x")], response_schema={"type": "object"})
        server.enqueue(Reply(500, {"type": "error", "error": {"type": "api_error",
                                                              "message": f"boom {KEY}"}},
                             headers={"retry-after-ms": "1"}),
                       Reply(401, {"type": "error", "error": {"type": "authentication_error",
                                                              "message": f"bad {KEY}"}}))
        with pytest.raises(Exception) as info:
            llm.chat([ChatMessage(content="x")])
    assert caplog.records
    assert "TOPSECRET" not in caplog.text
    assert "TOPSECRET" not in str(info.value)
