"""Builds the official SDK client from a config, and runs calls through one error translator.

The SDK's own retry loop does the retrying: it retries 408/409/429/5xx, timeouts and connection
errors up to `max_retries` times with exponential backoff (0.5 s doubling, capped at 8 s, with
jitter) and sleeps for `Retry-After` / `retry-after-ms` when the server sends one (up to 60 s in
openai 1.x, 120 s in 3.x). We only configure it; `tests/test_openai_errors.py` checks it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from memstack_openai.config import OpenAIBaseConfig
from memstack_openai.errors import OpenAIProviderError, redact, translate

log = logging.getLogger("memstack_openai")
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
        self._secrets = [key, *config.header_values().values()]
        self._client = build_client(config, key)

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except OpenAIProviderError:
            raise
        except Exception as exc:
            err = translate(
                exc, provider=self.provider, what=what, model=self.config.model,
                base_url=self.base_url, max_retries=self.config.max_retries,
                timeout=self.config.timeout, key_env=self.config.key_env, secrets=self._secrets,
            )
            log.debug("%s", err)
            # Keep the SDK error as the cause unless its text would leak a secret.
            if redact(_full_text(exc), self._secrets) == _full_text(exc):
                raise err from exc
            raise err from None

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.config.model!r}, base_url={self.base_url!r})"


def _full_text(exc: BaseException) -> str:
    parts = [str(exc), repr(getattr(exc, "body", ""))]
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        parts.append(str(cause))
    return " ".join(parts)
