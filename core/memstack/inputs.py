"""Validation of everything a caller hands `Memory`: scope, messages, text, metadata.

Refusals are `InvalidInput` / `ScopeError` with the reason; nothing invalid reaches a provider.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from memstack.errors import InvalidInput, ScopeError
from memstack.filters.parse import FIELD_RE
from memstack.models import SCOPE_FIELDS, ChatMessage, Scope
from memstack.timeline import FIELDS as TIME_FIELDS
from memstack.timeline import iso, parse_time
from memstack.vision import split_parts

RESERVED_KEYS = frozenset({
    "text", "hash", *SCOPE_FIELDS, "actor_id", "role",
    "created_at", "updated_at", "data", "memory", "id", "score", "metadata", *TIME_FIELDS,
})
MAX_SCOPE_CHARS = 256
MAX_METADATA_BYTES = 64_000


def check_scope(user_id: Any = None, agent_id: Any = None, run_id: Any = None,
                *, required: bool = True) -> Scope:
    """A `Scope` of plain, non-empty strings; at least one id when `required`."""
    values = dict(zip(SCOPE_FIELDS, (user_id, agent_id, run_id), strict=True))
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise ScopeError(
                f"{name} must be a plain string, got {type(value).__name__} {value!r:.80}; "
                "scope ids are never interpreted as filters or operators"
            )
        if not value.strip():
            raise ScopeError(f"{name} must not be empty or whitespace")
        if len(value) > MAX_SCOPE_CHARS:
            raise ScopeError(f"{name} is longer than {MAX_SCOPE_CHARS} characters")
        check_text_encoding(value, name)
    if required and all(v is None for v in values.values()):
        raise ScopeError("give at least one of user_id, agent_id or run_id: every memory "
                         "belongs to a scope, and every operation is limited to one")
    return Scope(**values)


def check_text_encoding(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{what} is not valid Unicode text (lone surrogate at position "
                           f"{exc.start})") from None
    if "\x00" in text:
        raise InvalidInput(f"{what} contains a NUL character")


def check_text(text: Any, max_chars: int, what: str = "memory text") -> str:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{what} is not valid UTF-8: {exc.reason} at byte {exc.start}") \
                from None
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InvalidInput(f"{what} is empty or only whitespace")
    if len(text) > max_chars:
        raise InvalidInput(f"{what} has {len(text):,} characters; the limit is {max_chars:,} "
                           "(config: max_text_chars)")
    check_text_encoding(text, what)
    return text


def parse_messages(messages: Any, max_chars: int) -> list[ChatMessage]:
    """A string, one message dict, or a list of them → validated chat messages."""
    if isinstance(messages, str | bytes | bytearray):
        return [ChatMessage(role="user", content=check_text(messages, max_chars))]
    if isinstance(messages, Mapping | ChatMessage):
        messages = [messages]
    if not isinstance(messages, Sequence) or not messages:
        raise InvalidInput("messages must be a string, a message dict, or a non-empty list of "
                           f"message dicts; got {type(messages).__name__}")
    out: list[ChatMessage] = []
    for i, m in enumerate(messages):
        if isinstance(m, ChatMessage):
            msg = m
        elif isinstance(m, Mapping):
            if isinstance(m.get("content"), list):  # content parts: text and images
                text, images = split_parts(m["content"], f"messages[{i}].content")
                m = {**m, "content": text, "images": images}
            try:
                msg = ChatMessage.model_validate(dict(m))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise InvalidInput(f"messages[{i}].{loc}: {err['msg']}") from None
        elif isinstance(m, str):
            msg = ChatMessage(role="user", content=m)
        else:
            raise InvalidInput(f"messages[{i}] must be a dict with role and content, got "
                               f"{type(m).__name__}")
        check_text(msg.content, max_chars, f"messages[{i}].content")
        if msg.timestamp is not None:
            moment = parse_time(msg.timestamp, f"messages[{i}].timestamp")
            msg = msg.model_copy(update={"timestamp": iso(moment)}) if moment else msg
        out.append(msg)
    return out


def _check_meta_value(key: str, value: Any) -> None:
    if isinstance(value, bool | str):
        if isinstance(value, str):
            check_text_encoding(value, f"metadata[{key!r}]")
        return
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise InvalidInput(f"metadata[{key!r}]: integer outside ±2**53")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"metadata[{key!r}]: {value} is not a finite number")
        return
    raise InvalidInput(
        f"metadata[{key!r}] is {type(value).__name__}; allowed: str, int, float, bool or a "
        "flat list of those (no nesting, no None)"
    )


def check_metadata(metadata: Any) -> dict[str, Any]:
    """Flat JSON-safe metadata with identifier keys that do not shadow reserved fields."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidInput(f"metadata must be a dict, got {type(metadata).__name__}")
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not FIELD_RE.match(key):
            raise InvalidInput(f"metadata key {key!r} must be an identifier "
                               "(letters, digits, '_', at most 64 characters)")
        if key in RESERVED_KEYS:
            raise InvalidInput(f"metadata key {key!r} is reserved; reserved: "
                               f"{', '.join(sorted(RESERVED_KEYS))}")
        if isinstance(value, list | tuple):
            for item in value:
                _check_meta_value(key, item)
            value = list(value)
        else:
            _check_meta_value(key, value)
        out[key] = value
    if len(json.dumps(out)) > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata is larger than {MAX_METADATA_BYTES:,} bytes as JSON")
    return out
