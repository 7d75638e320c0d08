"""Every failure becomes ONE typed memstack error naming the provider, with a hint, no key.

Retries are the SDK's own (408/409/429/5xx/529 and timeouts, honouring Retry-After); these tests
check that the configuration reaches it and what surfaces after the last retry.
"""

from __future__ import annotations

import logging
import socket
import traceback

import pytest
from memstack_anthropic.testing import (
    FakeAnthropicServer,
    Reply,
    overloaded,
    rate_limited,
    server_error,
)

from memstack.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderModelNotFound,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from memstack.models import ChatMessage
from memstack.registry import get_registry

HI = [ChatMessage(content="hi")]


def test_bad_key_is_an_auth_error_with_a_hint(server, build):
    with pytest.raises(ProviderAuthError) as info:
        build(api_key="sk-ant-wrong-000000000000").chat(HI)
    err = info.value
    assert isinstance(err, ProviderError) and err.provider == "anthropic"
    assert err.status_code == 401 and "ANTHROPIC_API_KEY" in err.hint
    assert "invalid x-api-key" in str(err) and err.request_id and err.request_id in str(err)
    assert "sk-ant-wrong-000000000000" not in str(err)
    assert err.__cause__ is not None  # the SDK error is kept when it holds no secret


def test_a_server_that_echoes_the_key_does_not_leak_it():
    key = "sk-ant-api03-SECRET-abcdefghijklmnop"
    with FakeAnthropicServer(echo_key_in_errors=True) as srv:
        llm = get_registry().build("llm", "anthropic", {
            "base_url": srv.base_url, "api_key": key, "model": "claude-test", "max_retries": 0})
        with pytest.raises(ProviderAuthError) as info:
            llm.chat(HI)
        llm.close()
    text = "".join(traceback.format_exception(info.value))
    assert "invalid x-api-key" in text
    assert key not in text and "SECRET" not in text
    assert info.value.__cause__ is None


def test_unknown_model_is_model_not_found(server, build):
    with pytest.raises(ProviderModelNotFound, match="claude-nope") as info:
        build(model="claude-nope").chat(HI)
    assert "model" in info.value.hint


def test_429_with_retry_after_is_retried_and_honoured(server, build, caplog):
    server.enqueue(rate_limited("0.05"))
    server.add_answer("fine")
    with caplog.at_level(logging.INFO, logger="anthropic"):
        assert build(max_retries=2).chat(HI) == "fine"
    assert len(server.message_requests) == 2
    # The SDK waited what retry-after said, not its own backoff (0.375-0.5 s).
    assert "in 0.050000 seconds" in caplog.text


def test_429_after_every_retry_is_rate_limited(server, build):
    server.enqueue(*[rate_limited("0.01")] * 3)
    with pytest.raises(ProviderRateLimited, match="after 2 retries"):
        build(max_retries=2).chat(HI)
    assert len(server.message_requests) == 3


def test_overloaded_529_is_retried_then_reported(server, build):
    server.enqueue(overloaded())
    assert build(max_retries=1).chat(HI) == "echo: hi"
    server.enqueue(overloaded(), overloaded())
    with pytest.raises(ProviderUnavailable, match="529") as info:
        build(max_retries=1).chat(HI)
    assert "overloaded" in info.value.hint


def test_500_after_every_retry_is_unavailable(server, build):
    server.enqueue(server_error(), server_error())
    with pytest.raises(ProviderUnavailable, match=r"HTTP 500.*after 1 retry"):
        build(max_retries=1).chat(HI)


def test_broken_json_is_a_bad_response(server, build):
    server.enqueue(Reply(200, body='{"id": "msg_01", "content": [ {broken'))
    with pytest.raises(ProviderBadResponse, match="not valid JSON"):
        build().chat(HI)


def test_slow_server_is_a_timeout(server, build):
    server.enqueue(Reply(200, {"never": "seen"}, delay=30))
    with pytest.raises(ProviderTimeout, match=r"timed out after 0\.3s"):
        build(timeout=0.3, max_retries=0).chat(HI)


def test_nothing_listening_is_unavailable(build):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProviderUnavailable, match="cannot connect"):
        build(base_url=f"http://127.0.0.1:{port}", max_retries=0).chat(HI)


def test_missing_key_fails_at_build_time():
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY") as info:
        get_registry().build("llm", "anthropic", {})
    assert info.value.field == "api_key"


def test_key_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", server.api_key)
    monkeypatch.setenv("CLAUDE_KEY", server.api_key)
    for extra in ({}, {"api_key_env": "CLAUDE_KEY"}):
        llm = get_registry().build("llm", "anthropic", {"base_url": server.base_url,
                                                        "model": "claude-test", **extra})
        assert llm.chat(HI) == "echo: hi"
        llm.close()
