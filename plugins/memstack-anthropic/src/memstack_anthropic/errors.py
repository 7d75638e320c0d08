"""Anthropic's words for what went wrong (529 = overloaded, structured-output support).

`memstack.api_errors` turns the `anthropic` SDK's exceptions into the `memstack.errors` classes.
"""

from __future__ import annotations

import logging
from typing import Any

from memstack.api_errors import ApiErrorTranslator, server_message


class AnthropicErrorTranslator(ApiErrorTranslator):
    """Hints for the Messages API: 529 means overloaded, structured outputs vary by model."""

    sdk = "anthropic"
    api = "the Anthropic Messages API"
    log = logging.getLogger("memstack_anthropic")

    def not_found_hint(self, exc: Any) -> str:
        return (f"check `model` ({self.model!r}, e.g. 'claude-sonnet-4-5') and `base_url` "
                f"({self.where})")

    def rate_limited_hint(self, exc: Any) -> str:
        return "slow down, raise `max_retries`, or ask Anthropic for a higher rate limit"

    def unavailable_hint(self, exc: Any) -> str:
        if getattr(exc, "status_code", None) == 529:
            return "Anthropic is overloaded; retry later or raise `max_retries`"
        return super().unavailable_hint(exc)

    def bad_request_hint(self, exc: Any) -> str:
        msg = server_message(exc)
        if "output_config" in msg or "output_format" in msg:
            return "this model has no native structured outputs: set `structured_output: tools`"
        return super().bad_request_hint(exc)

    def timeout_hint(self, exc: Any) -> str:
        return "raise `timeout`, lower `max_tokens`, or use a faster model"

    def unreachable_hint(self, exc: Any) -> str:
        return "check `base_url` and the network"
