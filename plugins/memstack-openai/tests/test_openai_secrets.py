"""API keys never show: not in repr, dumps, JSON schema, config errors, logs or provider errors."""

from __future__ import annotations

import json
import logging

import pytest
from memstack_openai.config import OpenAIEmbedderConfig, OpenAILLMConfig
from memstack_openai.testing import Reply

from memstack.errors import ConfigError
from memstack.models import ChatMessage
from memstack.registry import get_registry

KEY = "sk-proj-TOPSECRET-0123456789abcdefghij"
HEADER_SECRET = "hdr-TOPSECRET-value"


@pytest.mark.parametrize("model", [OpenAILLMConfig, OpenAIEmbedderConfig])
def test_config_never_shows_the_key(model):
    cfg = model(api_key=KEY, extra_headers={"X-Gateway-Key": HEADER_SECRET})
    texts = [repr(cfg), str(cfg), cfg.model_dump_json(), json.dumps(cfg.model_json_schema()),
             repr(cfg.model_dump())]
    for text in texts:
        assert "TOPSECRET" not in text
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == KEY


def test_invalid_config_error_does_not_echo_the_key():
    with pytest.raises(ConfigError) as info:
        get_registry().build("llm", "openai", {"api_key": KEY, "temperature": 7})
    assert "temperature" in str(info.value)
    assert "TOPSECRET" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        get_registry().build("llm", "openai", {"api_key": 12345, "model": "x"})
    assert "12345" not in str(info.value)


def test_provider_repr_hides_the_key(server, build):
    llm = build("llm", api_key=KEY, extra_headers={"X-Gateway-Key": HEADER_SECRET})
    assert "TOPSECRET" not in repr(llm)
    emb = build("embedder", api_key=KEY)
    assert "TOPSECRET" not in repr(emb)


def test_extra_headers_are_sent(server, build):
    build("llm", extra_headers={"X-Gateway-Key": HEADER_SECRET}).chat([ChatMessage(content="x")])
    assert server.chat_requests[0].headers["x-gateway-key"] == HEADER_SECRET


def test_debug_logs_of_calls_and_failures_never_contain_the_key(server, build, caplog):
    server.api_key = KEY
    llm = build("llm", api_key=KEY, max_retries=1)
    emb = build("embedder", api_key=KEY)
    with caplog.at_level(logging.DEBUG):
        llm.chat([ChatMessage(content="x")], response_schema={"type": "object"})
        emb.embed(["a", "b"])
        server.enqueue(Reply(500, {"error": {"message": f"boom {KEY}"}},
                             headers={"retry-after-ms": "1"}),
                       Reply(401, {"error": {"message": f"bad key {KEY}"}}))
        with pytest.raises(Exception) as info:
            llm.chat([ChatMessage(content="x")])
    assert caplog.records  # the SDK and httpx did log at DEBUG
    assert "TOPSECRET" not in caplog.text
    assert "TOPSECRET" not in str(info.value)
