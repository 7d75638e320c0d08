"""Typed errors, and the translation of every `anthropic` SDK failure into exactly one of them.

Each error names the provider, says what happened (status, server message, request id) and what
to do. The API key is scrubbed from every message: some servers echo the key they were given.
This module imports `anthropic` only inside `translate`, which runs after the SDK already failed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from memstack.errors import ProviderError

_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")


class AnthropicProviderError(ProviderError):
    """Base of this plugin's errors; `status_code` and `request_id` when the server answered."""

    def __init__(
        self, provider: str, message: str, *, hint: str = "",
        status_code: int | None = None, request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(provider, message, hint=hint)


class ProviderAuthError(AnthropicProviderError):
    """401/403: the key is missing, wrong, or lacks access."""


class ProviderModelNotFound(AnthropicProviderError):
    """404: unknown model, or a base_url that is not the Messages API."""


class ProviderRateLimited(AnthropicProviderError):
    """429 after every retry."""


class ProviderTimeout(AnthropicProviderError):
    """No answer within `timeout` seconds, after every retry."""


class ProviderUnavailable(AnthropicProviderError):
    """5xx / 529 (overloaded) after every retry, or the server could not be reached."""


class ProviderBadRequest(AnthropicProviderError):
    """400/413/422: the server refused the request (bad parameter or schema, too long, ...)."""


class ProviderBadResponse(AnthropicProviderError):
    """The server answered 200 with something unusable (broken JSON, no content, refusal)."""


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret (and anything shaped like an API key) replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_LIKE.sub("sk-***", text)


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    if isinstance(body, str) and body:
        return body[:500]
    return str(getattr(exc, "message", "") or exc)


def translate(
    exc: BaseException, *, provider: str, what: str, model: str, base_url: str,
    max_retries: int, timeout: float, key_env: str, secrets: list[str],
) -> AnthropicProviderError:
    """One typed memstack error for an exception raised by an `anthropic` client call."""
    import anthropic

    retries = f" (after {max_retries} retr{'y' if max_retries == 1 else 'ies'})"
    where = base_url or "the Anthropic API"
    status = getattr(exc, "status_code", None)
    request_id = getattr(exc, "request_id", None)
    rid = f" [request id {request_id}]" if request_id else ""

    def make(cls: type[AnthropicProviderError], message: str, hint: str) -> AnthropicProviderError:
        return cls(
            provider, redact(message, secrets) + rid, hint=redact(hint, secrets),
            status_code=status, request_id=request_id,
        )

    if isinstance(exc, anthropic.APIStatusError):
        msg = _server_message(exc)
        head = f"{what} failed with HTTP {status}: {msg}"
        if status in (401, 403):
            return make(
                ProviderAuthError, head,
                f"check the API key (environment variable {key_env}, or `api_key`) and that it "
                f"may use model {model!r}",
            )
        if status == 404:
            return make(
                ProviderModelNotFound, head,
                f"check `model` ({model!r}, e.g. 'claude-sonnet-4-5') and `base_url` ({where})",
            )
        if status == 429:
            return make(
                ProviderRateLimited, head + retries,
                "slow down, raise `max_retries`, or ask Anthropic for a higher rate limit",
            )
        if status is not None and status >= 500:
            hint = ("Anthropic is overloaded; retry later or raise `max_retries`" if status == 529
                    else "the server failed; retry later or raise `max_retries`")
            return make(ProviderUnavailable, head + retries, hint)
        hint = "the server refused the request; see its message"
        if "output_config" in msg or "output_format" in msg:
            hint = ("this model has no native structured outputs: set "
                    "`structured_output: tools`")
        return make(ProviderBadRequest, head, hint)
    if isinstance(exc, anthropic.APITimeoutError):
        return make(
            ProviderTimeout, f"{what} timed out after {timeout:g}s{retries} at {where}",
            "raise `timeout`, lower `max_tokens`, or use a faster model",
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {type(cause).__name__}: {cause}" if cause else ""
        return make(
            ProviderUnavailable, f"{what}: cannot connect to {where}{retries}{detail}",
            "check `base_url` and the network",
        )
    if isinstance(exc, (json.JSONDecodeError, anthropic.APIResponseValidationError)):
        return make(
            ProviderBadResponse, f"{what}: the server's answer is not valid JSON: {exc}",
            f"{where} does not speak the Anthropic Messages API correctly; check `base_url`",
        )
    return make(
        AnthropicProviderError, f"{what} failed: {type(exc).__name__}: {exc}",
        "see the message; report it if it persists",
    )
