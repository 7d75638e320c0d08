"""`anthropic` LLM: the Messages API through the official SDK.

System messages go to the top-level `system` parameter (the Messages API has no system role).
A JSON schema is enforced with a forced tool whose `input_schema` is the schema: the tool input
the model produces is the answer, returned as JSON text. The SDK's own retry loop retries
408/409/429/5xx/529, timeouts and connection errors `max_retries` times with backoff and honours
`Retry-After` / `retry-after-ms`; we only configure it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memstack import json_schema
from memstack.capabilities import STRUCTURED_OUTPUT, VISION
from memstack.errors import InvalidInput, ProviderBadResponse
from memstack.models import ChatMessage
from memstack_anthropic.config import AnthropicLLMConfig
from memstack_anthropic.errors import AnthropicErrorTranslator
from memstack_anthropic.images import image_block

EMPTY = "(empty)"  # the API refuses empty text blocks


def to_anthropic(messages: Sequence[ChatMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system text, messages) in the Messages API's shape.

    System messages are joined into `system`; `tool` messages (no tool_use id here) become user
    text saying where they came from; a `name` prefixes the text; consecutive turns of one role
    are merged; the conversation starts with a user turn, as the API requires.
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            system.append(m.content)
            continue
        text = m.content if m.content.strip() else EMPTY
        if m.role == "tool":
            role = "user"
            text = f"Tool output ({m.name}):\n{text}" if m.name else f"Tool output:\n{text}"
        else:
            role = m.role
            if m.name:
                text = f"{m.name}: {text}"
        content: str | list[dict[str, Any]] = text
        if m.images:  # the images first (as Anthropic recommends), then the text
            content = [image_block(p, f"images[{n}]") for n, p in enumerate(m.images)]
            content.append({"type": "text", "text": text})
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _merge(turns[-1]["content"], content)
        else:
            turns.append({"role": role, "content": content})
    if not turns:  # only system text: it is the request
        return None, [{"role": "user", "content": "\n\n".join(system) or EMPTY}]
    if turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(conversation start)"})
    return ("\n\n".join(system) if system else None), turns


def _merge(first: str | list[dict[str, Any]],
           second: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Two turns of one role as one: joined text, or one block list when either has images."""
    if isinstance(first, str) and isinstance(second, str):
        return first + "\n\n" + second
    def blocks(c: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"type": "text", "text": c}] if isinstance(c, str) else c
    return [*blocks(first), *blocks(second)]


def capabilities_for(config: AnthropicLLMConfig) -> frozenset[str]:
    """`structured_output` when the API enforces the schema; `vision` when the config says
    the model reads images."""
    caps = {STRUCTURED_OUTPUT} if config.structured_output in ("tools", "json_schema") else set()
    if config.vision:
        caps.add(VISION)
    return frozenset(caps)


class AnthropicLLM:
    """Chat messages in, text out; with a schema, the text is the JSON of the tool input."""

    provider = "anthropic"

    def __init__(self, config: AnthropicLLMConfig) -> None:
        import anthropic

        self.config = config
        key = config.resolve_api_key(self.provider)
        self._client = anthropic.Anthropic(
            api_key=key,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=config.max_retries,
            default_headers=config.header_values() or None,
        )
        self._errors = AnthropicErrorTranslator(
            provider=self.provider, model=config.model, base_url=self.base_url,
            max_retries=config.max_retries, timeout=config.timeout, key_env=config.api_key_env,
            secrets=[key, *config.header_values().values()],
        )
        self.capabilities = capabilities_for(config)

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_schema: dict[str, Any] | None = None,
        schema_name: str = "response",
    ) -> str:
        if not messages:
            raise InvalidInput(f"{self.provider}: chat() needs at least one message")
        cfg = self.config
        system, turns = to_anthropic(messages)
        kwargs: dict[str, Any] = {"model": cfg.model, "max_tokens": cfg.max_tokens,
                                  "messages": turns}
        if cfg.temperature is not None:
            kwargs["extra_body"] = {"temperature": cfg.temperature}
        mode = cfg.structured_output if response_schema is not None else None
        name = json_schema.schema_name(schema_name)
        wrapped = False
        if response_schema is not None and mode == "tools":
            params = response_schema
            if not json_schema.is_object_schema(response_schema):
                params, wrapped = json_schema.wrap_object(response_schema), True
            kwargs["tools"] = [{
                "name": name,
                "description": "Record the answer. Its input is the complete answer.",
                "input_schema": params,
            }]
            kwargs["tool_choice"] = {"type": "tool", "name": name}
        elif response_schema is not None and mode == "json_schema":
            kwargs["output_config"] = {"format": {"type": "json_schema",
                                                  "schema": response_schema}}
        elif response_schema is not None:
            instruction = json_schema.schema_instruction(response_schema)
            system = f"{system}\n\n{instruction}" if system else instruction
        if system:
            kwargs["system"] = system
        message = self._errors.call(f"message with model {cfg.model!r}",
                                    lambda: self._client.messages.create(**kwargs))
        return self._answer(message, mode, name, wrapped)

    def _answer(self, message: Any, mode: str | None, name: str, wrapped: bool) -> str:
        stop = getattr(message, "stop_reason", None)
        if stop == "refusal":
            raise self._bad("the model refused to answer")
        if mode is not None and stop == "max_tokens":
            raise self._bad("the JSON answer was cut off by the token limit",
                            hint="raise `max_tokens`")
        blocks = list(getattr(message, "content", None) or [])
        if mode == "tools":
            for block in blocks:
                if getattr(block, "type", None) == "tool_use" and block.name == name:
                    data = block.input
                    if wrapped and isinstance(data, dict) and json_schema.WRAP_KEY in data:
                        data = data[json_schema.WRAP_KEY]
                    return json.dumps(data, ensure_ascii=False)
        text = "".join(b.text for b in blocks if getattr(b, "type", None) == "text")
        if not text:
            raise self._bad(f"the answer has no text (stop_reason={stop!r})")
        return json_schema.strip_fences(text) if mode is not None else text

    def _bad(self, message: str, hint: str = "") -> ProviderBadResponse:
        return ProviderBadResponse(
            self.provider, f"message with model {self.config.model!r}: {message}",
            hint=hint or "retry, or try another model / `structured_output` mode",
        )

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"AnthropicLLM(model={self.config.model!r}, base_url={self.base_url!r})"
