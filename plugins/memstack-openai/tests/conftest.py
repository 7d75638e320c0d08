"""Fixtures: a FakeOpenAIServer on loopback per test, and providers built through the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from memstack_openai.testing import FakeOpenAIServer

from memstack.registry import get_registry


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or base URL must never reach these tests (or leak into them)."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_API_KEY",
                 "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "OPENAI_ORG_ID",
                 "OPENAI_PROJECT_ID", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    """The server; a test passes only if every request it saw was well-formed."""
    with FakeOpenAIServer() as srv:
        yield srv
        assert srv.violations == [], srv.violations


@pytest.fixture
def build(server: FakeOpenAIServer) -> Iterator[Callable[..., Any]]:
    """build(kind, **config) -> provider pointed at the fake server; closed after the test."""
    built: list[Any] = []

    def _build(kind: str = "llm", **config: Any) -> Any:
        base: dict[str, Any] = {"base_url": server.base_url, "api_key": server.api_key,
                                "max_retries": 0, "timeout": 10}
        base["model"] = "gpt-test" if kind == "llm" else "embed-test"
        if config.get("api_type") == "azure":
            del base["base_url"]
            base["azure_endpoint"] = server.azure_endpoint
            base["api_version"] = "2024-10-21"
        provider = get_registry().build(kind, "openai", {**base, **config})
        built.append(provider)
        return provider

    yield _build
    for provider in built:
        provider.close()
