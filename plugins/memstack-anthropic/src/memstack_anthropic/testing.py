"""`FakeAnthropicServer`: an HTTP server on 127.0.0.1 that speaks the Messages API, for tests.

It answers the REAL `anthropic` SDK (or any HTTP client) the way the API does: `POST /v1/messages`,
the `anthropic-version` header, the key as `x-api-key` or `Authorization: Bearer` (recent SDKs
send the latter), response bodies shaped like the API's (`msg_` ids, content blocks, `tool_use`
blocks, stop_reason, usage, `request-id` header) and its error bodies
(`{"type": "error", "error": {"type", "message"}, "request_id"}`) and status codes. Requests the
real API would refuse get its 400 and are recorded in `violations`.

    with FakeAnthropicServer() as server:
        server.add_answer('{"facts": ["likes tea"]}')       # the next answer, text or tool input
        server.enqueue(rate_limited())                      # the next HTTP reply
        cfg = {"base_url": server.base_url, "api_key": server.api_key, "model": "claude-test"}

An answer is a text: when the request forces a tool, the server returns it as that tool's
`input` (it must then be a JSON object), else as a text block. Without a scripted answer it calls
`handler(request body) -> text | Reply`, else answers a minimal instance of the requested schema,
else "echo: <last user text>". No `anthropic` import here. The HTTP plumbing (threads,
recording, scripted replies) is `memstack.testing.http_fake`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from memstack.json_schema import example_for
from memstack.testing.http_fake import FakeHTTPServer, RecordedRequest, Reply

DEFAULT_KEY = "sk-ant-test-fake-0123456789abcdef"
MODELS = ("claude-test", "claude-sonnet-4-5", "claude-haiku-4-5")
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


def anthropic_error(status: int, type_: str, message: str,
                    headers: dict[str, str] | None = None) -> Reply:
    """A reply with the API's error body."""
    rid = _request_id()
    return Reply(status, {"type": "error", "error": {"type": type_, "message": message},
                          "request_id": rid}, headers={"request-id": rid, **(headers or {})})


def rate_limited(retry_after: str = "0.01") -> Reply:
    """The API's 429 with `retry-after` (seconds)."""
    return anthropic_error(429, "rate_limit_error", "Number of request tokens has exceeded "
                           "your per-minute rate limit", headers={"retry-after": retry_after})


def overloaded(retry_after_ms: str | None = "10") -> Reply:
    """The API's 529. With `retry_after_ms` the SDK's retry waits that long instead of ~0.5 s."""
    return anthropic_error(529, "overloaded_error", "Overloaded",
                           headers={"retry-after-ms": retry_after_ms} if retry_after_ms else {})


def server_error(retry_after_ms: str | None = "10") -> Reply:
    return anthropic_error(500, "api_error", "Internal server error",
                           headers={"retry-after-ms": retry_after_ms} if retry_after_ms else {})


class FakeAnthropicServer(FakeHTTPServer):
    """A scriptable Messages API on loopback. Use as a context manager or `start()`/`stop()`."""

    thread_name = "fake-anthropic"

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        models: Iterable[str] = MODELS,
        handler: Callable[[dict[str, Any]], str | Reply] | None = None,
        supports_output_format: bool = True,
        echo_key_in_errors: bool = False,
    ) -> None:
        super().__init__(api_key=api_key, echo_key_in_errors=echo_key_in_errors)
        self.models = set(models)
        self.handler = handler
        self.supports_output_format = supports_output_format

    # --- address and config ----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """For `base_url` in an Anthropic config (the SDK appends /v1/messages)."""
        return self.url

    def llm_config(self, **overrides: Any) -> dict[str, Any]:
        """A config for the `anthropic` LLM provider that talks to this server."""
        return {"base_url": self.base_url, "api_key": self.api_key, "model": "claude-test",
                "max_retries": 0, **overrides}

    # --- recorded requests -----------------------------------------------------------------
    @property
    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/messages"]

    # --- request handling (called from server threads) ------------------------------------
    def _violation(self, message: str) -> Reply:
        self.record_violation(message)
        return anthropic_error(400, "invalid_request_error", message)

    def internal_error(self, message: str) -> Reply:
        return anthropic_error(500, "api_error", message)

    def handle(self, req: RecordedRequest) -> Reply:
        if req.path != "/v1/messages":
            return anthropic_error(404, "not_found_error", "Not Found")
        if req.method != "POST":
            return anthropic_error(405, "invalid_request_error", "Method Not Allowed")
        given = req.headers.get("x-api-key")
        if given is None and req.headers.get("authorization", "").startswith("Bearer "):
            given = req.headers["authorization"].removeprefix("Bearer ")
        if given != self.api_key:
            if given is None:
                return anthropic_error(401, "authentication_error",
                                       "x-api-key header is required")
            text = f"invalid x-api-key: {given}" if self.echo_key_in_errors else "invalid x-api-key"
            return anthropic_error(401, "authentication_error", text)
        if not req.headers.get("anthropic-version"):
            return self._violation("anthropic-version: header is required")
        if "application/json" not in req.headers.get("content-type", ""):
            return self._violation("Content-Type must be application/json")
        if not isinstance(req.body, dict):
            return self._violation("There was an issue with the format of your request body: "
                                   "invalid JSON")
        problem = self._check(req.body)
        if problem is not None:
            return problem
        scripted = self.next_reply(req.path)
        if scripted is not None:
            return scripted
        model = req.body["model"]
        if model not in self.models:
            return anthropic_error(404, "not_found_error", f"model: {model}")
        return self._answer(req.body)

    def _check(self, body: dict[str, Any]) -> Reply | None:
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return self._violation(f"{name}: Field required")
        if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
            return self._violation("max_tokens: Input should be greater than or equal to 1")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return self._violation("messages: at least one message is required")
        for i, m in enumerate(messages):
            role = m.get("role") if isinstance(m, dict) else None
            if role == "system":
                return self._violation(f'messages.{i}: Unexpected role "system". The Messages '
                                       "API accepts a top-level `system` parameter, not "
                                       '"system" as an input message role.')
            if role not in ("user", "assistant"):
                return self._violation(f"messages.{i}.role: Input should be 'user' or "
                                       "'assistant'")
            content = m.get("content")
            if isinstance(content, str):
                if not content.strip():
                    return self._violation(f"messages.{i}: text content blocks must contain "
                                           "non-whitespace text")
            elif isinstance(content, list):
                if not content or not all(isinstance(b, dict) and "type" in b for b in content):
                    return self._violation(f"messages.{i}.content: invalid content blocks")
                for n, block in enumerate(content):
                    problem = _block_problem(block)
                    if problem is not None:
                        return self._violation(f"messages.{i}.content.{n}: {problem}")
            else:
                return self._violation(f"messages.{i}.content: Input should be a valid string "
                                       "or list")
        if messages[0]["role"] != "user":
            return self._violation('messages: first message must use the "user" role')
        system = body.get("system")
        if system is not None and not (
            isinstance(system, str)
            or (isinstance(system, list)
                and all(isinstance(b, dict) and b.get("type") == "text" for b in system))
        ):
            return self._violation("system: Input should be a valid string or list of text "
                                   "blocks")
        if body.get("stream"):
            return self._violation("stream: this fake server does not stream")
        temperature = body.get("temperature")
        if temperature is not None and not (isinstance(temperature, (int, float))
                                            and 0 <= temperature <= 1):
            return self._violation("temperature: Input should be less than or equal to 1")
        tools = body.get("tools")
        names: list[str] = []
        if tools is not None:
            for i, t in enumerate(tools):
                if not isinstance(t, dict) or not _NAME_RE.match(str(t.get("name", ""))):
                    return self._violation(f"tools.{i}.name: String should match pattern "
                                           "'^[a-zA-Z0-9_-]{1,64}$'")
                schema = t.get("input_schema")
                if not isinstance(schema, dict) or schema.get("type") != "object":
                    return self._violation(f"tools.{i}.input_schema.type: Input should be "
                                           "'object'")
                names.append(t["name"])
        choice = body.get("tool_choice")
        if choice is not None:
            kind = choice.get("type") if isinstance(choice, dict) else None
            if kind not in ("auto", "any", "tool", "none"):
                return self._violation("tool_choice.type: Input should be 'auto', 'any', "
                                       "'tool' or 'none'")
            if kind != "none" and not names:
                return self._violation("tool_choice may only be specified while providing "
                                       "tools.")
            if kind == "tool" and choice.get("name") not in names:
                return self._violation(f"Tool '{choice.get('name')}' not found in provided "
                                       "tools")
        output = body.get("output_config")
        if output is not None and output.get("format") is not None:
            fmt = output["format"]
            if not self.supports_output_format:
                return anthropic_error(400, "invalid_request_error",
                                       f"output_config.format: not supported by model "
                                       f"{body['model']}")
            if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
                return self._violation("output_config.format: expected {type: 'json_schema', "
                                       "schema: {...}}")
        return None

    def _answer(self, body: dict[str, Any]) -> Reply:
        text = self.next_answer(body, self.handler)
        if isinstance(text, Reply):
            return text
        forced = _forced_tool(body)
        if text is None:
            fmt = (body.get("output_config") or {}).get("format")
            if forced is not None:
                text = json.dumps(example_for(forced["input_schema"]))
            elif fmt is not None:
                text = json.dumps(example_for(fmt["schema"]))
            else:
                last = next((m["content"] for m in reversed(body["messages"])
                             if m["role"] == "user"), "")
                text = "echo: " + (last if isinstance(last, str) else json.dumps(last))
        tool_input = None
        if forced is not None:
            try:
                tool_input = json.loads(text)
            except ValueError:
                tool_input = None
        if isinstance(tool_input, dict):
            content: list[dict[str, Any]] = [{
                "type": "tool_use", "id": "toolu_01" + uuid.uuid4().hex[:22],
                "name": forced["name"], "input": tool_input,  # type: ignore[index]
            }]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": text}]
            stop = "end_turn"
        input_tokens = len(_TOKEN.findall(json.dumps(body["messages"])))
        output_tokens = len(_TOKEN.findall(text))
        rid = _request_id()
        return Reply(200, {
            "id": "msg_01" + uuid.uuid4().hex[:22],
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "service_tier": "standard"},
        }, headers={"request-id": rid})


def _block_problem(block: dict[str, Any]) -> str | None:
    """What the API would say about a content block of a request, or None when it is valid."""
    kind = block["type"]
    if kind == "text":
        text = block.get("text")
        ok = isinstance(text, str) and text.strip()
        return None if ok else "text content blocks must contain non-whitespace text"
    if kind == "image":
        source = block.get("source")
        if not isinstance(source, dict):
            return "image.source: Field required"
        if source.get("type") == "base64":
            if source.get("media_type") not in ("image/jpeg", "image/png", "image/gif",
                                                 "image/webp"):
                return ("image.source.base64.media_type: Input should be 'image/jpeg', "
                        "'image/png', 'image/gif' or 'image/webp'")
            data = source.get("data")
            if not isinstance(data, str) or not data or data.startswith("data:"):
                return "image.source.base64.data: invalid base64 data"
            return None
        if source.get("type") == "url":
            url = source.get("url")
            ok = isinstance(url, str) and url.startswith(("https://", "http://"))
            return None if ok else "image.source.url.url: invalid URL"
        return "image.source: Input tag does not match any of the expected tags: 'base64', 'url'"
    if kind in ("tool_use", "tool_result", "document", "thinking"):
        return None
    return f"Input tag {kind!r} found using 'type' does not match any of the expected tags"


def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool a request forces (tool_choice `tool`, or `any` with a single tool)."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    name = None
    if choice.get("type") == "tool":
        name = choice.get("name")
    elif choice.get("type") == "any" and len(tools) == 1:
        name = tools[0]["name"]
    return next((t for t in tools if t["name"] == name), None)
