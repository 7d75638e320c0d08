"""Typed errors, and the translation of every `openai` SDK failure into exactly one of them.

Each error names the provider, says what happened (status, server message, request id) and what
to do. The API key is scrubbed from every message: some servers echo the key they were given.
This module imports `openai` only inside `translate`, which runs after the SDK already failed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from memstack.errors import ProviderError

_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")


class OpenAIProviderError(ProviderError):
    """Base of this plugin's errors; `status_code` and `request_id` when the server answered."""

    def __init__(
        self, provider: str, message: str, *, hint: str = "",
        status_code: int | None = None, request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        super().__init__(provider, message, hint=hint)


class ProviderAuthError(OpenAIProviderError):
    """401/403: the key is missing, wrong, or lacks access."""


class ProviderModelNotFound(OpenAIProviderError):
    """404: unknown model / deployment, or a base_url that is not an OpenAI-style API."""


class ProviderRateLimited(OpenAIProviderError):
    """429 after every retry (rate limit or exhausted quota)."""


class ProviderTimeout(OpenAIProviderError):
    """No answer within `timeout` seconds, after every retry."""


class ProviderUnavailable(OpenAIProviderError):
    """5xx after every retry, or the server could not be reached."""


class ProviderBadRequest(OpenAIProviderError):
    """400/422: the server refused the request (unsupported parameter, schema, too long, ...)."""


class ProviderBadResponse(OpenAIProviderError):
    """The server answered 200 with something unusable (broken JSON, no choices, refusal)."""


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


def _server_code(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("code") or err.get("type") or "")
    return ""


def translate(
    exc: BaseException, *, provider: str, what: str, model: str, base_url: str,
    max_retries: int, timeout: float, key_env: str, secrets: list[str],
) -> OpenAIProviderError:
    """One typed memstack error for an exception raised by an `openai` client call."""
    import openai

    retries = f" (after {max_retries} retr{'y' if max_retries == 1 else 'ies'})"
    where = base_url or "the OpenAI API"
    status = getattr(exc, "status_code", None)
    request_id = getattr(exc, "request_id", None)
    rid = f" [request id {request_id}]" if request_id else ""

    def make(cls: type[OpenAIProviderError], message: str, hint: str) -> OpenAIProviderError:
        return cls(
            provider, redact(message, secrets) + rid, hint=redact(hint, secrets),
            status_code=status, request_id=request_id,
        )

    if isinstance(exc, openai.APIStatusError):
        msg = _server_message(exc)
        code = _server_code(exc)
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
                f"check `model` ({model!r}; for Azure the deployment name; for Ollama run "
                f"`ollama pull`) and `base_url` ({where}; OpenAI-compatible servers usually "
                "end in /v1)",
            )
        if status == 429:
            if code == "insufficient_quota":
                hint = "the account is out of quota: check billing, or use another key"
            else:
                hint = "slow down, raise `max_retries`, or ask the provider for a higher limit"
            return make(ProviderRateLimited, head + retries, hint)
        if status is not None and status >= 500:
            return make(
                ProviderUnavailable, head + retries,
                "the server failed; retry later or raise `max_retries`",
            )
        hint = "the server refused the request; see its message"
        low = msg.lower()
        if any(s in low for s in ("response_format", "json_schema", "json_object")):
            hint = ("the server does not accept this structured-output request: set "
                    "`structured_output` to 'json_mode', 'tools' or 'none'")
        elif "tool" in low and "support" in low:
            hint = "the server does not support tool calls: set `structured_output: json_mode`"
        return make(ProviderBadRequest, head, hint)
    if isinstance(exc, openai.APITimeoutError):
        return make(
            ProviderTimeout, f"{what} timed out after {timeout:g}s{retries} at {where}",
            "raise `timeout`, use a faster model, or check the server's load",
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {type(cause).__name__}: {cause}" if cause else ""
        return make(
            ProviderUnavailable, f"{what}: cannot connect to {where}{retries}{detail}",
            "check `base_url` and that the server is running and reachable",
        )
    if isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return make(
            ProviderBadResponse, f"{what}: the server's answer is not valid JSON: {exc}",
            f"{where} does not speak the OpenAI API correctly; check `base_url`",
        )
    return make(
        OpenAIProviderError, f"{what} failed: {type(exc).__name__}: {exc}",
        "see the message; report it if it persists",
    )
