"""Image parts of a `ChatMessage` in the Messages API's wire shape.

The core keeps image parts as the caller gave them (Anthropic `image`, OpenAI `image_url`, OpenAI
Responses `input_image`); the Messages API takes `{"type": "image", "source": ...}` with a base64
source (from a `data:` URL) or a url source (from an http(s) URL), so each is turned into that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from memstack.errors import InvalidInput

MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+);base64,(?P<data>.+)$", re.DOTALL)


def image_block(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    """One image part as a Messages API `image` content block."""
    kind = part.get("type")
    if kind == "image":
        source = part.get("source")
        if isinstance(source, Mapping) and source.get("type") in ("base64", "url"):
            return {"type": "image", "source": dict(source)}
        raise InvalidInput(f"{where}: an Anthropic image part needs a source of type 'base64' "
                           "or 'url'")
    url: Any = None
    if kind == "image_url":
        inner = part.get("image_url")
        url = inner.get("url") if isinstance(inner, Mapping) else inner
    elif kind == "input_image":
        url = part.get("image_url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    found = _DATA_URL.match(url) if isinstance(url, str) else None
    if found is None:
        raise InvalidInput(f"{where}: a {kind!r} image part needs an http(s) URL or a base64 "
                           "data: URL for the anthropic LLM")
    media = found["media"].lower()
    if media not in MEDIA_TYPES:
        raise InvalidInput(f"{where}: image type {media!r} is not one the Messages API reads; "
                           f"allowed: {', '.join(MEDIA_TYPES)}")
    return {"type": "image", "source": {"type": "base64", "media_type": media,
                                        "data": found["data"]}}
