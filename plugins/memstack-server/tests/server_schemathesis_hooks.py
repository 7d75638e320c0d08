"""Schemathesis hooks for the fuzz test (loaded through $SCHEMATHESIS_HOOKS): /v1/import takes
JSON Lines, a media type schemathesis does not serialize by itself."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> dict[str, Any]:
    if isinstance(value, bytes):
        return {"data": value}
    text = value if isinstance(value, str) else json.dumps(value)
    return {"data": text.encode("utf-8", "surrogatepass")}
