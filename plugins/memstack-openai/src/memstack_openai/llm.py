"""`openai` LLM: Chat Completions through the official SDK, with four ways to get JSON out.

`structured_output` picks how a `response_schema` is enforced, because OpenAI-compatible servers
differ: OpenAI, Azure, vLLM and recent Ollama take `response_format: json_schema`; older servers
only `json_object` (JSON mode, the schema goes in the prompt); some only tool calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memstack import json_schema
from memstack.capabilities import STRUCTURED_OUTPUT, VISION
from memstack.errors import InvalidInput, ProviderBadResponse
from memstack.models import ChatMessage
from memstack_openai.client import OpenAIProviderBase
from memstack_openai.config import OpenAILLMConfig
from memstack_openai.images import image_url_part
from memstack_openai.schemas import is_strict_compatible

NATIVE_MODES = ("json_schema", "tools")


def capabilities_for(config: OpenAILLMConfig) -> frozenset[str]:
    """`structured_output` only when the server itself enforces the schema; `vision` when the
    config says the model reads images."""
    caps = {STRUCTURED_OUTPUT} if config.structured_output in NATIVE_MODES else set()
    if config.vision:
        caps.add(VISION)
    return frozenset(caps)


def to_openai_message(message: ChatMessage) -> dict[str, Any]:
    """One Chat Completions message. A `tool` message has no tool_call_id here, which the API
    requires, so it is sent as a user message that says where the text came from."""
    if message.role == "tool":
        label = f"Tool output ({message.name})" if message.name else "Tool output"
        return {"role": "user", "content": f"{label}:\n{message.content}"}
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:  # a content list: the text, then each image as an image_url part
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        parts += [image_url_part(p, f"images[{n}]") for n, p in enumerate(message.images)]
        out["content"] = parts
    if message.name:
        out["name"] = json_schema.schema_name(message.name)
    return out


class OpenAILLM(OpenAIProviderBase):
    """Chat messages in, text out; with a schema, the text is the JSON the server produced."""

    config: OpenAILLMConfig

    def __init__(self, config: OpenAILLMConfig) -> None:
        super().__init__(config)
        self.capabilities = capabilities_for(config)

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
        body: dict[str, Any] = {
            "model": cfg.model, "messages": [to_openai_message(m) for m in messages],
        }
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if cfg.max_tokens is not None:
            official = cfg.api_type == "azure" or cfg.base_url is None
            body["max_completion_tokens" if official else "max_tokens"] = cfg.max_tokens
        mode = cfg.structured_output if response_schema is not None else None
        name = json_schema.schema_name(schema_name)
        wrapped = False
        if response_schema is not None:
            strict = cfg.strict if cfg.strict is not None else is_strict_compatible(response_schema)
            if mode == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": response_schema, "strict": strict},
                }
            elif mode == "tools":
                params = response_schema
                if not json_schema.is_object_schema(response_schema):
                    params, wrapped = json_schema.wrap_object(response_schema), True
                function: dict[str, Any] = {
                    "name": name,
                    "description": "Return the answer as this function's arguments.",
                    "parameters": params,
                }
                if strict:
                    function["strict"] = True
                body["tools"] = [{"type": "function", "function": function}]
                body["tool_choice"] = {"type": "function", "function": {"name": name}}
            else:
                body["messages"] = _with_instruction(
                    body["messages"], json_schema.schema_instruction(response_schema)
                )
                if mode == "json_mode":
                    body["response_format"] = {"type": "json_object"}
        completion = self._call(
            f"chat completion with model {cfg.model!r}",
            lambda: self._client.chat.completions.create(**body),
        )
        return self._answer(completion, mode, name, wrapped)

    def _answer(self, completion: Any, mode: str | None, name: str, wrapped: bool) -> str:
        choices = getattr(completion, "choices", None)
        if not choices:
            raise self._bad("the answer has no choices")
        choice = choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None)
        if refusal:
            raise self._bad(f"the model refused: {refusal}")
        if mode is not None and choice.finish_reason == "length":
            raise self._bad("the JSON answer was cut off by the token limit",
                            hint="raise `max_tokens` (or leave it unset)")
        if mode == "tools":
            for call in getattr(message, "tool_calls", None) or []:
                function = getattr(call, "function", None)
                if function is not None and function.name == name:
                    args = function.arguments
                    if wrapped:
                        try:
                            return json_schema.unwrap(args)
                        except (ValueError, KeyError, TypeError):
                            return str(args)
                    return args if isinstance(args, str) else json.dumps(args)
            # Some servers ignore tool_choice and answer in text; let the caller parse it.
        content = message.content
        if content is None:
            raise self._bad(f"the answer has no content (finish_reason={choice.finish_reason!r})")
        if mode in ("json_mode", "none", "tools"):
            return json_schema.strip_fences(content)
        return content

    def _bad(self, message: str, hint: str = "") -> ProviderBadResponse:
        return ProviderBadResponse(
            self.provider, f"chat completion with model {self.config.model!r}: {message}",
            hint=hint or "retry, or try another model / `structured_output` mode",
        )


def _with_instruction(messages: list[dict[str, Any]], instruction: str) -> list[dict[str, Any]]:
    """Add the schema instruction to the leading system message (or put one first)."""
    if messages and messages[0]["role"] == "system":
        first = dict(messages[0])
        first["content"] = f"{first['content']}\n\n{instruction}"
        return [first, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]
