"""Every failure becomes ONE typed memstack error naming the provider, with a hint, no key.

Retries are the SDK's own (it retries 408/409/429/5xx and timeouts, honouring Retry-After);
these tests check that the configuration reaches it and what surfaces after the last retry.
"""

from __future__ import annotations

import logging
import socket
import traceback

import pytest
from memstack_openai.testing import FakeOpenAIServer, Reply, rate_limited, server_error

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
    llm = build("llm", api_key="sk-wrong-key-000000000000")
    with pytest.raises(ProviderAuthError) as info:
        llm.chat(HI)
    err = info.value
    assert isinstance(err, ProviderError) and err.provider == "openai"
    assert err.status_code == 401
    assert "OPENAI_API_KEY" in err.hint
    assert str(err).startswith("openai: ")
    assert "sk-wrong-key-000000000000" not in str(err)


def test_a_server_that_echoes_the_key_does_not_leak_it():
    key = "sk-live-SECRET-abcdefghijklmnop"
    with FakeOpenAIServer(echo_key_in_errors=True) as srv:
        llm = get_registry().build("llm", "openai", {"base_url": srv.base_url, "api_key": key,
                                                     "model": "gpt-test", "max_retries": 0})
        with pytest.raises(ProviderAuthError) as info:
            llm.chat(HI)
        llm.close()
    text = "".join(traceback.format_exception(info.value))
    assert "Incorrect API key provided" in text  # the server's message is kept...
    assert key not in text and "SECRET" not in text  # ...without the key, in the whole chain
    assert info.value.__cause__ is None


def test_unknown_model_is_model_not_found(server, build):
    with pytest.raises(ProviderModelNotFound, match="gpt-nope") as info:
        build("llm", model="gpt-nope").chat(HI)
    assert "model" in info.value.hint and "base_url" in info.value.hint


def test_wrong_base_url_path_is_reported_as_not_found(server, build):
    with pytest.raises(ProviderModelNotFound, match="Invalid URL") as info:
        build("llm", base_url=server.url).chat(HI)  # forgot the /v1
    assert "/v1" in info.value.hint


def test_429_with_retry_after_is_retried_and_honoured(server, build, caplog):
    server.enqueue(rate_limited("0.05"))
    server.add_chat_answer("fine")
    with caplog.at_level(logging.INFO, logger="openai"):
        assert build("llm", max_retries=2).chat(HI) == "fine"
    assert len(server.chat_requests) == 2
    # The SDK waited what Retry-After said, not its own backoff (0.375-0.5 s).
    assert "Retrying request in 0.050000 seconds" in caplog.text


def test_429_after_every_retry_is_rate_limited(server, build):
    server.enqueue(*[rate_limited("0.01")] * 3)
    with pytest.raises(ProviderRateLimited, match="after 2 retries") as info:
        build("llm", max_retries=2).chat(HI)
    assert len(server.chat_requests) == 3
    assert info.value.status_code == 429


def test_insufficient_quota_says_so(server, build):
    server.enqueue(Reply(429, {"error": {"message": "You exceeded your current quota",
                                         "type": "insufficient_quota", "param": None,
                                         "code": "insufficient_quota"}},
                         headers={"x-should-retry": "false"}))
    with pytest.raises(ProviderRateLimited) as info:
        build("llm", max_retries=2).chat(HI)
    assert "quota" in info.value.hint
    assert len(server.chat_requests) == 1  # x-should-retry: false is obeyed


def test_500_is_retried_then_succeeds(server, build):
    server.enqueue(server_error())
    assert build("llm", max_retries=1).chat(HI) == "echo: hi"
    assert len(server.chat_requests) == 2


def test_500_after_every_retry_is_unavailable(server, build):
    server.enqueue(server_error(), server_error())
    with pytest.raises(ProviderUnavailable, match=r"HTTP 500.*after 1 retry"):
        build("llm", max_retries=1).chat(HI)


def test_broken_json_is_a_bad_response(server, build):
    server.enqueue(Reply(200, body='{"id": "chatcmpl-1", "choices": [ {broken'))
    with pytest.raises(ProviderBadResponse, match="not valid JSON"):
        build("llm").chat(HI)


def test_broken_json_in_embeddings_is_a_bad_response(server, build):
    server.enqueue(Reply(200, body="<html>gateway</html>", path="/embeddings"))
    with pytest.raises(ProviderBadResponse):
        build("embedder").embed(["x"])


def test_slow_server_is_a_timeout(server, build):
    server.enqueue(Reply(200, {"never": "seen"}, delay=30))
    with pytest.raises(ProviderTimeout, match=r"timed out after 0\.3s") as info:
        build("llm", timeout=0.3, max_retries=0).chat(HI)
    assert "timeout" in info.value.hint


def test_nothing_listening_is_unavailable(build):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProviderUnavailable, match="cannot connect") as info:
        build("llm", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0).chat(HI)
    assert "base_url" in info.value.hint


def test_embedder_errors_are_typed_too(server, build):
    with pytest.raises(ProviderModelNotFound):
        build("embedder", model="no-such-embedder", dimension=8).embed(["x"])
    with pytest.raises(ProviderAuthError):
        build("embedder", api_key="sk-bad-000000000").embed(["x"])


def test_missing_key_for_the_official_api_fails_at_build_time():
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as info:
        get_registry().build("llm", "openai", {"model": "gpt-test"})
    assert info.value.field == "api_key"
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        get_registry().build("llm", "openai", {"api_type": "azure", "api_version": "2024-10-21",
                                               "azure_endpoint": "http://127.0.0.1:9"})


def test_local_servers_get_a_placeholder_key():
    with FakeOpenAIServer(api_key="no-key-required") as srv:
        llm = get_registry().build("llm", "openai", {"base_url": srv.base_url,
                                                     "model": "gpt-test"})
        assert llm.chat(HI) == "echo: hi"
        assert srv.chat_requests[0].headers["authorization"] == "Bearer no-key-required"
        llm.close()


def test_key_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    monkeypatch.setenv("MY_GATEWAY_KEY", server.api_key)
    for extra in ({}, {"api_key_env": "MY_GATEWAY_KEY"}):
        llm = get_registry().build("llm", "openai", {"base_url": server.base_url,
                                                     "model": "gpt-test", **extra})
        assert llm.chat(HI) == "echo: hi"
        llm.close()
    assert len(server.chat_requests) == 2
