"""OpenAI's strict structured-output rule; the generic schema helpers are `memstack.json_schema`."""

from __future__ import annotations

from typing import Any


def is_strict_compatible(schema: Any) -> bool:
    """True when OpenAI's strict mode accepts the schema: every object is closed
    (`additionalProperties: false`) and lists all its properties in `required`."""
    if isinstance(schema, list):
        return all(is_strict_compatible(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object:
        props = schema.get("properties", {})
        if schema.get("additionalProperties", True) is not False:
            return False
        if set(schema.get("required", [])) != set(props):
            return False
    children: list[Any] = []
    for key in ("properties", "$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            children.extend(schema[key].values())
    for key in ("items", "anyOf", "oneOf", "allOf", "prefixItems"):
        if key in schema:
            children.append(schema[key])
    return all(is_strict_compatible(c) for c in children)
