"""The hints an `openai` failure carries: for OpenAI, Azure and OpenAI-compatible servers.

The typed errors live in `memstack.errors`, shared by every remote provider;
`memstack.api_errors` maps the SDK's exceptions onto them and imports `openai` only once a call
has failed.
"""

from __future__ import annotations

import logging
from typing import Any

from memstack.api_errors import ApiErrorTranslator, server_code, server_message


class OpenAIErrorTranslator(ApiErrorTranslator):
    """Hints for OpenAI, Azure OpenAI and OpenAI-compatible servers (Ollama, vLLM, ...)."""

    sdk = "openai"
    api = "the OpenAI API"
    log = logging.getLogger("memstack_openai")

    def not_found_hint(self, exc: Any) -> str:
        return (f"check `model` ({self.model!r}; for Azure the deployment name; for Ollama run "
                f"`ollama pull`) and `base_url` ({self.where}; OpenAI-compatible servers "
                "usually end in /v1)")

    def rate_limited_hint(self, exc: Any) -> str:
        if server_code(exc) == "insufficient_quota":
            return "the account is out of quota: check billing, or use another key"
        return super().rate_limited_hint(exc)

    def bad_request_hint(self, exc: Any) -> str:
        low = server_message(exc).lower()
        if any(s in low for s in ("response_format", "json_schema", "json_object")):
            return ("the server does not accept this structured-output request: set "
                    "`structured_output` to 'json_mode', 'tools' or 'none'")
        if "tool" in low and "support" in low:
            return "the server does not support tool calls: set `structured_output: json_mode`"
        return super().bad_request_hint(exc)
