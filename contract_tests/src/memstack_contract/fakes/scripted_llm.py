"""`scripted`: an LLM that answers from a script — for testing the engine's inference path.

Give it `responses` (returned in order, the last one repeated when `repeat_last`), or in Python a
`handler(messages, response_schema) -> str`. Every call is kept in `calls` for assertions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from memstack.errors import ProviderError
from memstack.models import ChatMessage
from memstack.spec import ProviderConfig

Handler = Callable[[Sequence[ChatMessage], dict[str, Any] | None], str]


class ScriptedLLMConfig(ProviderConfig):
    responses: list[str] = []
    repeat_last: bool = False


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
        with self._lock:
            self.calls.append({"messages": list(messages), "response_schema": response_schema})
            if self.handler is not None:
                return self.handler(messages, response_schema)
            if not self.responses:
                raise ProviderError("scripted", "the script has no response left for this call")
            if len(self.responses) == 1 and self.repeat_last:
                return self.responses[0]
            return self.responses.pop(0)
