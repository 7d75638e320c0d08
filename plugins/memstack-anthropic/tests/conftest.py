"""Fixtures: a FakeAnthropicServer on loopback per test, and the provider built by the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from memstack_anthropic.testing import FakeAnthropicServer

from memstack.registry import get_registry


@pytest.fixture(autouse=True)
def _no_ambient_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key, base URL or profile must never reach these tests."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
                 "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    """The server; a test passes only if every request it saw was well-formed."""
    with FakeAnthropicServer() as srv:
        yield srv
        assert srv.violations == [], srv.violations


@pytest.fixture
def build(server: FakeAnthropicServer) -> Iterator[Callable[..., Any]]:
    """build(**config) -> the `anthropic` LLM pointed at the fake server; closed afterwards."""
    built: list[Any] = []

    def _build(**config: Any) -> Any:
        base = {"base_url": server.base_url, "api_key": server.api_key, "model": "claude-test",
                "max_retries": 0, "timeout": 10}
        llm = get_registry().build("llm", "anthropic", {**base, **config})
        built.append(llm)
        return llm

    yield _build
    for llm in built:
        llm.close()
