"""JSON-schema helpers for LLM structured output, the same for every API that takes a schema.

Names the APIs accept, wrapping a non-object schema for tool parameters (and back), the prompt
text used when the server cannot enforce a schema, removing code fences from JSON answers, and a
minimal instance of a schema (what a fake server answers). Stdlib only.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]+")
_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
WRAP_KEY = "value"


def schema_name(name: str) -> str:
    """A name the APIs accept for a schema or tool (`^[a-zA-Z0-9_-]{1,64}$`)."""
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


def strip_fences(text: str) -> str:
    """Models asked for JSON in the prompt often wrap it in a ```json fence; remove it."""
    m = _FENCE.match(text)
    return m.group(1).strip() if m else text.strip()


def example_for(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A small value that validates against `schema` (enough for the schemas LLM apps use)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example_for(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_for(options[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        names = schema.get("required", list(props))
        return {n: example_for(props.get(n, {}), root, depth + 1) for n in names}
    if kind == "array":
        return [example_for(schema.get("items", {}), root, depth + 1)
                for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "example" + "x" * max(0, schema.get("minLength", 0) - 7)
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None
