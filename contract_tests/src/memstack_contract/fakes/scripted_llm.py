"""`scripted`: an LLM that answers from a script — for testing the engine's inference path.

Answers come from, in order of precedence:
- a Python `handler(messages, response_schema) -> str` (constructor argument);
- `rules`: the first rule whose `match` occurs (case-insensitively) in the last user message;
- `responses`: returned in order, the last one repeated when `repeat_last`.
Every call is kept in `calls` for assertions. With nothing left to say it raises `ProviderError`,
as a real provider does when its backend fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from memstack.errors import InvalidInput, ProviderError
from memstack.models import ChatMessage
from memstack.spec import ProviderConfig

Handler = Callable[[Sequence[ChatMessage], dict[str, Any] | None], str]


class ScriptedRule(BaseModel):
    match: str = Field(description="Substring of the last user message (case-insensitive).")
    response: str


class ScriptedLLMConfig(ProviderConfig):
    responses: list[str] = Field(default_factory=list, description="Answers, in call order.")
    repeat_last: bool = False
    rules: list[ScriptedRule] = Field(
        default_factory=list, description="Answers chosen by the content of the last user message."
    )


class ScriptedLLM:
    capabilities: frozenset[str] = frozenset({"structured_output"})

    def __init__(
        self,
        config: ScriptedLLMConfig | None = None,
        *,
        responses: Sequence[str] | None = None,
        handler: Handler | None = None,
    ) -> None:
        cfg = config or ScriptedLLMConfig()
        self.responses = list(responses if responses is not None else cfg.responses)
        self.repeat_last = cfg.repeat_last
        self.rules = [(r.match.lower(), r.response) for r in cfg.rules]
        self.handler = handler
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_schema: dict[str, Any] | None = None,
        schema_name: str = "response",
    ) -> str:
        if not messages:
            raise InvalidInput("scripted: chat() needs at least one message")
        with self._lock:
            self.calls.append({"messages": list(messages), "response_schema": response_schema})
            if self.handler is not None:
                return self.handler(messages, response_schema)
            last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
            for match, response in self.rules:
                if match in last_user.lower():
                    return response
            if not self.responses:
                raise ProviderError("scripted", "the script has no response left for this call")
            if len(self.responses) == 1 and self.repeat_last:
                return self.responses[0]
            return self.responses.pop(0)
