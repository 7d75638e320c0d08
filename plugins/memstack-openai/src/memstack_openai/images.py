"""Image parts of a `ChatMessage` in the Chat Completions wire shape.

The core keeps image parts as the caller gave them (OpenAI `image_url`, OpenAI Responses
`input_image`, or Anthropic `image` with a base64 or url source); Chat Completions takes only
`{"type": "image_url", "image_url": {"url": <https or data: URL>}}`, so each is turned into that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memstack.errors import InvalidInput


def image_url_part(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    """One image part as a Chat Completions `image_url` content part."""
    kind = part.get("type")
    detail = None
    url: Any = None
    if kind == "image_url":
        inner = part.get("image_url")
        if isinstance(inner, Mapping):
            url, detail = inner.get("url"), inner.get("detail")
        else:
            url = inner
    elif kind == "input_image":
        url, detail = part.get("image_url"), part.get("detail")
    elif kind == "image":
        source = part.get("source")
        source = source if isinstance(source, Mapping) else {}
        if source.get("type") == "base64":
            media, data = source.get("media_type"), source.get("data")
            if isinstance(media, str) and isinstance(data, str):
                url = f"data:{media};base64,{data}"
        elif source.get("type") == "url":
            url = source.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
        raise InvalidInput(f"{where}: an image part needs an http(s) or data:image/ URL (or an "
                           f"Anthropic base64 source) for the openai LLM, got a {kind!r} part "
                           "without one")
    out: dict[str, Any] = {"url": url}
    if detail in ("auto", "low", "high"):
        out["detail"] = detail
    return {"type": "image_url", "image_url": out}
