"""JSON-schema helpers for structured output: names, tool wrapping, prompt fallback."""

from __future__ import annotations

import json
import re
from typing import Any

_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]+")
WRAP_KEY = "value"


def schema_name(name: str) -> str:
    """A name the API accepts (`^[a-zA-Z0-9_-]{1,64}$`)."""
    return _NAME_BAD.sub("_", name).strip("_")[:64] or "response"


def is_object_schema(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object"


def wrap_object(schema: dict[str, Any]) -> dict[str, Any]:
    """Tool parameters must be an object: put a non-object schema under one property."""
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {WRAP_KEY: {k: v for k, v in schema.items() if k != "$defs"}},
        "required": [WRAP_KEY],
        "additionalProperties": False,
    }
    if "$defs" in schema:
        wrapped["$defs"] = schema["$defs"]
    return wrapped


def unwrap(arguments: Any) -> str:
    """The JSON text of the wrapped value (inverse of `wrap_object`)."""
    data = json.loads(arguments) if isinstance(arguments, str) else arguments
    return json.dumps(data[WRAP_KEY], ensure_ascii=False)


def schema_instruction(schema: dict[str, Any]) -> str:
    """The prompt text used when the server cannot enforce the schema itself."""
    return (
        "Answer with one JSON object only, no prose and no code fences, that conforms to this "
        "JSON schema:\n" + json.dumps(schema, ensure_ascii=False)
    )


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def strip_fences(text: str) -> str:
    """Models asked for JSON in the prompt often wrap it in a ```json fence; remove it."""
    m = _FENCE.match(text)
    return m.group(1).strip() if m else text.strip()
