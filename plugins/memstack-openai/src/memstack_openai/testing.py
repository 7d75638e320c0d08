"""`FakeOpenAIServer`: an HTTP server on 127.0.0.1 that speaks the OpenAI wire format, for tests.

It answers the REAL `openai` SDK (or any HTTP client) the way the API does: the paths
(`/v1/chat/completions`, `/v1/embeddings`, Azure's `/openai/deployments/{name}/...?api-version=`),
the auth headers (`Authorization: Bearer`, Azure `api-key`), response bodies shaped like the API's
(ids, usage, choices, tool calls, embeddings as floats or base64, in `index` order or shuffled),
and the API's error bodies and status codes. Requests whose shape the real API would refuse get
the real API's 400 and are also recorded in `violations`, so a test can assert there were none.

    with FakeOpenAIServer() as server:
        server.add_chat_answer('{"facts": ["likes tea"]}')   # the next chat answer, any mode
        server.enqueue(Reply(429, headers={"Retry-After": "0.01"}))  # the next HTTP reply
        cfg = {"base_url": server.base_url, "api_key": server.api_key, "model": "gpt-test"}

Chat answers are texts: the server wraps each in the shape the request asked for (message
content, or a forced tool call's arguments). Without a scripted answer it calls `chat_handler`
(request body -> text or `Reply`), else it answers a minimal instance of the requested JSON
schema, else "echo: <last user message>". Embeddings are deterministic bag-of-words hashes, so
texts sharing words are similar. No `openai` import here: other packages' tests can use it alone.
The HTTP plumbing (threads, recording, scripted replies) is `memstack.testing.http_fake`.
"""

from __future__ import annotations

import array
import base64
import collections
import hashlib
import json
import math
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from memstack.json_schema import example_for
from memstack.testing.http_fake import FakeHTTPServer, RecordedRequest, Reply

DEFAULT_KEY = "sk-test-fake-0123456789abcdef"
CHAT_MODELS = ("gpt-test", "gpt-4.1-mini", "gpt-4o-mini")
EMBEDDING_MODELS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "embed-test": 64,
}
# Models that accept the `dimensions` request field.
SHORTENABLE = ("text-embedding-3-small", "text-embedding-3-large", "embed-test")
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def openai_error(
    status: int, message: str, *, type_: str = "invalid_request_error",
    code: str | None = None, param: str | None = None, headers: dict[str, str] | None = None,
) -> Reply:
    """A reply with the API's error body: {"error": {"message", "type", "param", "code"}}."""
    return Reply(status, {"error": {"message": message, "type": type_, "param": param,
                                    "code": code}}, headers=dict(headers or {}))


def rate_limited(retry_after: str = "0.01") -> Reply:
    """The API's 429 with a `Retry-After` header (seconds)."""
    return openai_error(
        429, "Rate limit reached for requests. Please try again in 10ms.",
        type_="requests", code="rate_limit_exceeded", headers={"Retry-After": retry_after},
    )


def server_error(retry_after_ms: str | None = "10") -> Reply:
    """The API's 500. With `retry_after_ms` the SDK's retry waits that long instead of ~0.5 s."""
    headers = {"retry-after-ms": retry_after_ms} if retry_after_ms else {}
    return openai_error(
        500, "The server had an error while processing your request. Sorry about that!",
        type_="server_error", headers=headers,
    )


def hash_vector(text: str, dimension: int) -> list[float]:
    """Deterministic unit vector: feature hashing of lower-case words."""
    vec = [0.0] * dimension
    for tok in _TOKEN.findall(text.lower()) or [text]:
        h = int.from_bytes(hashlib.blake2b(tok.encode("utf-8", "surrogatepass"),
                                           digest_size=8).digest(), "little")
        vec[h % dimension] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec))
    if norm == 0.0:
        vec[0], norm = 1.0, 1.0
    return [x / norm for x in vec]


def _strict_problem(schema: Any, path: str = "schema") -> str | None:
    if isinstance(schema, list):
        for i, s in enumerate(schema):
            if (p := _strict_problem(s, f"{path}[{i}]")) is not None:
                return p
        return None
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties", True) is not False:
            return (f"In context={path!r}, 'additionalProperties' is required to be supplied "
                    "and to be false.")
        missing = set(schema.get("properties", {})) - set(schema.get("required", []))
        if missing:
            return (f"In context={path!r}, 'required' is required to be supplied and to be an "
                    f"array including every key in properties. Missing {sorted(missing)[0]!r}.")
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            if (p := _strict_problem(sub, f"{path}.{key}.{name}")) is not None:
                return p
    for key in ("items", "anyOf", "oneOf", "allOf"):
        if key in schema and (p := _strict_problem(schema[key], f"{path}.{key}")) is not None:
            return p
    return None


class FakeOpenAIServer(FakeHTTPServer):
    """A scriptable OpenAI API on loopback. Use as a context manager or `start()`/`stop()`."""

    thread_name = "fake-openai"

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        chat_models: Iterable[str] = CHAT_MODELS,
        embedding_models: dict[str, int] | None = None,
        chat_handler: Callable[[dict[str, Any]], str | Reply] | None = None,
        supports: Iterable[str] = ("json_schema", "json_object", "tools"),
        shuffle_embeddings: bool = False,
        echo_key_in_errors: bool = False,
    ) -> None:
        super().__init__(api_key=api_key, echo_key_in_errors=echo_key_in_errors)
        self.chat_models = set(chat_models)
        self.embedding_models = dict(EMBEDDING_MODELS if embedding_models is None
                                     else embedding_models)
        self.chat_handler = chat_handler
        self.supports = set(supports)
        self.shuffle_embeddings = shuffle_embeddings

    # --- addresses and configs -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """For `base_url` in an OpenAI config."""
        return self.url + "/v1"

    @property
    def azure_endpoint(self) -> str:
        """For `azure_endpoint` in an Azure OpenAI config."""
        return self.url

    def llm_config(self, **overrides: Any) -> dict[str, Any]:
        """A config for the `openai` LLM provider that talks to this server."""
        return {"base_url": self.base_url, "api_key": self.api_key, "model": "gpt-test",
                "max_retries": 0, **overrides}

    def embedder_config(self, **overrides: Any) -> dict[str, Any]:
        """A config for the `openai` embedder that talks to this server (64-dim vectors)."""
        return {"base_url": self.base_url, "api_key": self.api_key, "model": "embed-test",
                "dimension": 64, "max_retries": 0, **overrides}

    # --- scripting -------------------------------------------------------------------------
    def add_chat_answer(self, *texts: str | dict[str, Any] | list[Any]) -> None:
        """The next chat completions answer these texts (dicts/lists are JSON-encoded)."""
        self.add_answer(*texts)

    @property
    def chat_answers(self) -> collections.deque[str]:
        return self.answers

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return self.requests_to("/chat/completions")

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return self.requests_to("/embeddings")

    # --- request handling (called from server threads) ------------------------------------
    def _violation(self, status: int, message: str, *, param: str | None = None) -> Reply:
        self.record_violation(message)
        return openai_error(status, message, param=param)

    def internal_error(self, message: str) -> Reply:
        return openai_error(500, message, type_="server_error")

    def handle(self, req: RecordedRequest) -> Reply:
        azure = re.fullmatch(r"/openai/deployments/([^/]+)(/chat/completions|/embeddings)",
                             req.path)
        if azure:
            endpoint, model = azure.group(2), azure.group(1)
        elif req.path in ("/v1/chat/completions", "/v1/embeddings"):
            endpoint, model = req.path[3:], None
        else:
            return openai_error(404, f"Invalid URL ({req.method} {req.path})")
        if req.method != "POST":
            return openai_error(405, f"Invalid method for URL ({req.method} {req.path})")
        if azure:
            if "api-version" not in req.query:
                return Reply(404, {"error": {"code": "404", "message": "Resource not found"}})
            if req.headers.get("api-key") != self.api_key:
                return Reply(401, {"error": {"code": "401", "message":
                    "Access denied due to invalid subscription key or wrong API endpoint. Make "
                    "sure to provide a valid key for an active subscription and use a correct "
                    "regional API endpoint for your resource."}})
        else:
            auth = req.headers.get("authorization", "")
            if not auth:
                return openai_error(401, "You didn't provide an API key. You need to provide "
                                    "your API key in an Authorization header using Bearer auth "
                                    "(i.e. Authorization: Bearer YOUR_KEY).")
            given = auth.removeprefix("Bearer ")
            if not auth.startswith("Bearer ") or given != self.api_key:
                shown = given if self.echo_key_in_errors else (given[:3] + "*" * 8 + given[-4:])
                return openai_error(401, f"Incorrect API key provided: {shown}. You can find "
                                    "your API key at https://platform.openai.com/account/api-keys.",
                                    code="invalid_api_key")
        if "application/json" not in req.headers.get("content-type", ""):
            return self._violation(400, "Content-Type must be application/json")
        if not isinstance(req.body, dict):
            return self._violation(400, "We could not parse the JSON body of your request.")
        chat = endpoint == "/chat/completions"
        check = self._check_chat if chat else self._check_embeddings
        problem = check(req.body, bool(azure))
        if problem is not None:
            return problem
        scripted = self.next_reply(req.path)
        if scripted is not None:
            return scripted
        model = model or req.body.get("model")
        if chat:
            return self._chat(req.body, model, azure=bool(azure))
        return self._embeddings(req.body, model, azure=bool(azure))

    def _unknown_model(self, model: str, azure: bool) -> Reply:
        if azure:
            return Reply(404, {"error": {"code": "DeploymentNotFound", "message":
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again."}})
        return openai_error(404, f"The model `{model}` does not exist or you do not have "
                            "access to it.", code="model_not_found")

    # --- chat completions ------------------------------------------------------------------
    def _chat(self, body: dict[str, Any], model: Any, *, azure: bool) -> Reply:
        if model not in self.chat_models:
            return self._unknown_model(str(model), azure)
        text = self.next_answer(body, self.chat_handler)
        if isinstance(text, Reply):
            return text
        forced = _forced_tool(body)
        if text is None:
            schema = None
            rf = body.get("response_format") or {}
            if rf.get("type") == "json_schema":
                schema = rf["json_schema"].get("schema", {})
            elif forced is not None:
                schema = forced.get("parameters", {})
            if schema is not None:
                text = json.dumps(example_for(schema))
            elif rf.get("type") == "json_object":
                text = "{}"
            else:
                users = [m for m in body["messages"] if m.get("role") == "user"]
                last = users[-1]["content"] if users else ""
                text = "echo: " + (last if isinstance(last, str) else json.dumps(last))
        prompt_tokens = sum(len(_TOKEN.findall(json.dumps(m))) for m in body["messages"])
        completion_tokens = len(_TOKEN.findall(text))
        if forced is not None:
            message: dict[str, Any] = {
                "role": "assistant", "content": None, "refusal": None, "annotations": [],
                "tool_calls": [{"id": "call_" + uuid.uuid4().hex[:24], "type": "function",
                                "function": {"name": forced["name"], "arguments": text}}],
            }
        else:
            message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        return Reply(200, {
            "id": "chatcmpl-" + uuid.uuid4().hex[:29],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
        }, headers={"x-request-id": "req_" + uuid.uuid4().hex})

    def _check_parts(self, parts: list[Any], i: int) -> Reply | None:
        """Content parts as Chat Completions takes them: text, or image_url with a URL."""
        for n, part in enumerate(parts):
            where = f"messages[{i}].content[{n}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                continue
            if kind == "image_url":
                url = (part.get("image_url") or {}).get("url") if isinstance(
                    part.get("image_url"), dict) else None
                if isinstance(url, str) and url.startswith(("https://", "http://",
                                                            "data:image/")):
                    continue
                return self._violation(400, f"Invalid '{where}.image_url': expected an object "
                                       "with a 'url' (https or data:image/ URL).",
                                       param=f"{where}.image_url")
            return self._violation(400, f"Invalid value: {kind!r}. Supported values are: "
                                   "'text', 'image_url', 'input_audio', 'refusal', 'audio', "
                                   "and 'file'.", param=f"{where}.type")
        return None

    def _check_chat(self, body: dict[str, Any], azure: bool) -> Reply | None:
        if not azure and not isinstance(body.get("model"), str):
            return self._violation(400, "you must provide a model parameter", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._violation(400, "[] is too short - 'messages'", param="messages")
        for i, m in enumerate(messages):
            role = m.get("role") if isinstance(m, dict) else None
            if role not in ("system", "developer", "user", "assistant", "tool"):
                return self._violation(400, f"Invalid value: {role!r}. Supported values are: "
                                       "'system', 'assistant', 'user', 'tool', and 'developer'.",
                                       param=f"messages[{i}].role")
            content = m.get("content")
            if content is None and not (role == "assistant" and m.get("tool_calls")):
                return self._violation(400, "Invalid value for 'content': expected a string, "
                                       "got null.", param=f"messages[{i}].content")
            if content is not None and not isinstance(content, (str, list)):
                return self._violation(400, "Invalid type for 'content'",
                                       param=f"messages[{i}].content")
            if isinstance(content, list):
                problem = self._check_parts(content, i)
                if problem is not None:
                    return problem
            if role == "tool" and not m.get("tool_call_id"):
                return self._violation(400, "Missing required parameter: "
                                       f"'messages[{i}].tool_call_id'.",
                                       param=f"messages[{i}].tool_call_id")
            if "name" in m and not re.fullmatch(r"[^\s<|\\/>]{1,64}", str(m["name"])):
                return self._violation(400, f"Invalid 'messages[{i}].name': string does not "
                                       "match pattern.", param=f"messages[{i}].name")
        if body.get("stream"):
            return self._violation(400, "this fake server does not stream", param="stream")
        temperature = body.get("temperature")
        if temperature is not None and not (isinstance(temperature, (int, float))
                                            and 0 <= temperature <= 2):
            return self._violation(400, f"Invalid 'temperature': {temperature!r}",
                                   param="temperature")
        rf = body.get("response_format")
        if rf is not None:
            kind = rf.get("type") if isinstance(rf, dict) else None
            if kind not in ("text", "json_object", "json_schema"):
                return self._violation(400, f"Invalid value: {kind!r}. Supported values are: "
                                       "'text', 'json_object', and 'json_schema'.",
                                       param="response_format.type")
            if kind in ("json_object", "json_schema") and kind not in self.supports:
                return openai_error(400, f"'response_format' of type '{kind}' is not supported "
                                    "with this model.", param="response_format")
            if kind == "json_object":
                text = json.dumps(messages).lower()
                if "json" not in text:
                    return self._violation(400, "'messages' must contain the word 'json' in some "
                                           "form, to use 'response_format' of type "
                                           "'json_object'.", param="messages")
            if kind == "json_schema":
                spec = rf.get("json_schema")
                if not isinstance(spec, dict) or not _NAME_RE.match(str(spec.get("name", ""))):
                    return self._violation(400, "Invalid 'response_format.json_schema.name': "
                                           "string does not match pattern.",
                                           param="response_format.json_schema.name")
                if not isinstance(spec.get("schema"), dict):
                    return self._violation(400, "Invalid type for "
                                           "'response_format.json_schema.schema'",
                                           param="response_format.json_schema.schema")
                if spec.get("strict") and (p := _strict_problem(spec["schema"])) is not None:
                    return self._violation(400, "Invalid schema for response_format "
                                           f"'{spec['name']}': {p}", param="response_format")
        tools = body.get("tools")
        if tools is not None:
            if "tools" not in self.supports:
                return openai_error(400, "tools is not supported in this model.", param="tools")
            names = []
            for i, t in enumerate(tools):
                fn = t.get("function") if isinstance(t, dict) else None
                if t.get("type") != "function" or not isinstance(fn, dict):
                    return self._violation(400, f"Invalid 'tools[{i}]'", param=f"tools[{i}]")
                if not _NAME_RE.match(str(fn.get("name", ""))):
                    return self._violation(400, f"Invalid 'tools[{i}].function.name': string "
                                           "does not match pattern.",
                                           param=f"tools[{i}].function.name")
                params = fn.get("parameters", {})
                if not isinstance(params, dict) or params.get("type") != "object":
                    return self._violation(400, f"Invalid schema for function '{fn['name']}': "
                                           "schema must be a JSON Schema of 'type: \"object\"'.",
                                           param=f"tools[{i}].function.parameters")
                if fn.get("strict") and (p := _strict_problem(params)) is not None:
                    return self._violation(400, f"Invalid schema for function '{fn['name']}': "
                                           f"{p}", param=f"tools[{i}].function.parameters")
                names.append(fn["name"])
            choice = body.get("tool_choice")
            if isinstance(choice, dict):
                chosen = (choice.get("function") or {}).get("name")
                if choice.get("type") != "function" or chosen not in names:
                    return self._violation(400, f"Invalid 'tool_choice': {choice!r}",
                                           param="tool_choice")
            elif choice not in (None, "none", "auto", "required"):
                return self._violation(400, f"Invalid 'tool_choice': {choice!r}",
                                       param="tool_choice")
        elif body.get("tool_choice") is not None:
            return self._violation(400, "Invalid value for 'tool_choice': 'tool_choice' is only "
                                   "allowed when 'tools' are specified.", param="tool_choice")
        return None

    # --- embeddings ------------------------------------------------------------------------
    def _check_embeddings(self, body: dict[str, Any], azure: bool) -> Reply | None:
        if not azure and not isinstance(body.get("model"), str):
            return self._violation(400, "you must provide a model parameter", param="model")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if (not isinstance(inputs, list) or not inputs or len(inputs) > 2048
                or not all(isinstance(t, str) and t for t in inputs)):
            return self._violation(400, "'$.input' is invalid. Please check the API reference: "
                                   "https://platform.openai.com/docs/api-reference.",
                                   param="input")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            return self._violation(400, f"Invalid value: {fmt!r}. Supported values are: "
                                   "'float' and 'base64'.", param="encoding_format")
        return None

    def _embeddings(self, body: dict[str, Any], model: Any, *, azure: bool) -> Reply:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        fmt = body.get("encoding_format", "float")
        if model not in self.embedding_models:
            return self._unknown_model(str(model), azure)
        dimension = self.embedding_models[model]
        if "dimensions" in body:
            wanted = body["dimensions"]
            if model not in SHORTENABLE:
                return openai_error(400, "This model does not support specifying dimensions.",
                                    param="dimensions")
            if not isinstance(wanted, int) or not 1 <= wanted <= dimension:
                return self._violation(400, f"Invalid 'dimensions': {wanted!r}",
                                       param="dimensions")
            dimension = wanted
        data = []
        for i, text in enumerate(inputs):
            vec = hash_vector(text, dimension)
            if fmt == "base64":
                packed = array.array("f", vec)
                if sys.byteorder == "big":
                    packed.byteswap()
                emb: Any = base64.b64encode(packed.tobytes()).decode("ascii")
            else:
                emb = vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        if self.shuffle_embeddings:
            data.reverse()
        tokens = sum(len(_TOKEN.findall(t)) or 1 for t in inputs)
        return Reply(200, {"object": "list", "data": data, "model": model,
                           "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
                     headers={"x-request-id": "req_" + uuid.uuid4().hex})


def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function a request forces (tool_choice names it, or 'required' with one tool)."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    name = None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
    elif choice == "required" and len(tools) == 1:
        name = tools[0]["function"]["name"]
    for t in tools:
        if t["function"]["name"] == name:
            return t["function"]
    return None
