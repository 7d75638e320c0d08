"""Builds the official SDK client from a config, and runs calls through one error translator.

The SDK's own retry loop does the retrying: it retries 408/409/429/5xx, timeouts and connection
errors up to `max_retries` times with exponential backoff (0.5 s doubling, capped at 8 s, with
jitter) and sleeps for `Retry-After` / `retry-after-ms` when the server sends one (up to 60 s in
openai 1.x, 120 s in 3.x). We only configure it; `tests/test_openai_errors.py` checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from memstack_openai.config import OpenAIBaseConfig
from memstack_openai.errors import OpenAIErrorTranslator

T = TypeVar("T")


def build_client(config: OpenAIBaseConfig, api_key: str) -> Any:
    """An `openai.OpenAI` or `openai.AzureOpenAI` client; the import happens here, not before."""
    import openai

    common: dict[str, Any] = {
        "api_key": api_key,
        "organization": config.organization,
        "project": config.project,
        "timeout": config.timeout,
        "max_retries": config.max_retries,
        "default_headers": config.header_values() or None,
    }
    if config.api_type == "azure":
        return openai.AzureOpenAI(
            api_version=config.api_version,
            azure_endpoint=config.azure_endpoint,
            azure_deployment=config.azure_deployment,
            base_url=config.base_url if not config.azure_endpoint else None,
            **common,
        )
    return openai.OpenAI(base_url=config.base_url, **common)


class OpenAIProviderBase:
    """What the LLM and the embedder share: the client, the key, and error translation."""

    provider = "openai"

    def __init__(self, config: OpenAIBaseConfig) -> None:
        self.config = config
        key = config.resolve_api_key(self.provider)
        self._client = build_client(config, key)
        self._errors = OpenAIErrorTranslator(
            provider=self.provider, model=config.model, base_url=self.base_url,
            max_retries=config.max_retries, timeout=config.timeout, key_env=config.key_env,
            secrets=[key, *config.header_values().values()],
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return self._errors.call(what, fn)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.config.model!r}, base_url={self.base_url!r})"

