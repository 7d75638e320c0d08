"""How a LangGraph item (namespace, key, value) is laid out as one memstack memory.

- scope: ``agent_id`` = the store's name (several LangGraph stores can share one memstack
  collection), ``user_id`` = ``namespace[user_level]`` when the namespace is that deep, and
  ``run_id`` = a UUID derived from (namespace, key). The run id makes every item its own scope, so
  two keys holding the same text stay two memories (memstack de-duplicates text per scope), and
  ``memstack list --user alice`` or ``delete_all(user_id=...)`` still reach a user's items.
- text: what LangGraph would embed — the ``index`` fields of the value (default ``$``, the whole
  value as sorted JSON), several texts joined by newlines. An item with nothing to index
  (``index=False`` or no such field) gets a placeholder text and ``lg_indexed = False``.
- metadata: ``lg_namespace`` ("a.b.c" — labels cannot contain periods), ``lg_prefixes`` (every
  prefix, for exact prefix matching with ``contains``), ``lg_key``, ``lg_value`` (the value as
  JSON: types come back exactly as JSON has them), ``lg_indexed``, ``v_<field>`` copies of
  filterable scalars and ``lg_opaque`` (see `filters`), and for TTL ``lg_ttl`` (minutes) and
  ``lg_expires_at`` (epoch seconds).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import Item, get_text_at_path, tokenize_path

from memstack_langgraph.filters import FIELD_PREFIX, OPAQUE, storable_scalar, value_field

NAMESPACE = "lg_namespace"
PREFIXES = "lg_prefixes"
KEY = "lg_key"
VALUE = "lg_value"
INDEXED = "lg_indexed"
TTL = "lg_ttl"
EXPIRES = "lg_expires_at"
# memstack metadata is at most 64,000 bytes as JSON; leave room for the other fields.
MAX_VALUE_BYTES = 48_000
# An empty list never matches eq / ne / ranges in memstack's filter language, exactly as a
# missing field does not; `Memory.update` merges metadata, so a field that is gone is blanked.
TOMBSTONE: list[Any] = []
_IDS = uuid.UUID("3c0d7a2e-5b8f-4f4e-9d61-2a7c1f0e8b94")


def ns_text(namespace: Sequence[str]) -> str:
    return ".".join(namespace)


def ns_tuple(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")) if text else ()


def run_id(namespace: Sequence[str], key: str) -> str:
    """The item's own scope id: stable, and different for every (namespace, key)."""
    return str(uuid.uuid5(_IDS, json.dumps([list(namespace), key], ensure_ascii=False)))


def index_texts(value: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """The texts LangGraph extracts for embedding (`get_text_at_path` per field)."""
    out: list[str] = []
    for path in fields:
        texts = get_text_at_path(value, path if path == "$" else tokenize_path(path))
        out.extend(t for t in texts if t.strip())
    return out


def encode_value(namespace: Sequence[str], key: str, value: Mapping[str, Any]) -> str:
    if not isinstance(value, Mapping):
        raise ValueError(f"value of {ns_text(namespace)!r}/{key!r} must be a dict, got "
                         f"{type(value).__name__}")
    try:
        text = json.dumps(dict(value), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"value of {ns_text(namespace)!r}/{key!r} is not JSON-serializable: "
                         f"{exc}") from None
    if len(text.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ValueError(f"value of {ns_text(namespace)!r}/{key!r} is "
                         f"{len(text.encode('utf-8')):,} bytes as JSON; at most "
                         f"{MAX_VALUE_BYTES:,} fit in a memstack memory's metadata")
    return text


def metadata_for(namespace: Sequence[str], key: str, value_json: str,
                 value: Mapping[str, Any], indexed: bool,
                 previous: Mapping[str, Any] | None = None,
                 ttl: float | None = None, expires_at: float | None = None) -> dict[str, Any]:
    """The memory's metadata; fields of `previous` that are gone are blanked (`TOMBSTONE`)."""
    meta: dict[str, Any] = {
        NAMESPACE: ns_text(namespace),
        PREFIXES: [ns_text(namespace[:i]) for i in range(1, len(namespace) + 1)],
        KEY: key,
        VALUE: value_json,
        INDEXED: indexed,
    }
    opaque: list[str] = []
    for name, v in value.items():
        field = value_field(name) if isinstance(name, str) else None
        if field is not None and storable_scalar(v):
            meta[field] = v
        elif isinstance(name, str):
            opaque.append(name)
    meta[OPAQUE] = opaque
    if ttl is not None and expires_at is not None:
        meta[TTL] = float(ttl)
        meta[EXPIRES] = float(expires_at)
    for old in previous or {}:
        if (old.startswith(FIELD_PREFIX) or old in (TTL, EXPIRES)) and old not in meta:
            meta[old] = TOMBSTONE
    return meta


def _time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text)


def item_from(metadata: Mapping[str, Any], created_at: str, updated_at: str | None) -> Item:
    return Item(value=json.loads(metadata[VALUE]), key=metadata[KEY],
                namespace=ns_tuple(metadata[NAMESPACE]), created_at=_time(created_at),
                updated_at=_time(updated_at or created_at))


def expiry(metadata: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(ttl minutes, expires-at epoch seconds) of a memory, or (None, None)."""
    ttl, exp = metadata.get(TTL), metadata.get(EXPIRES)
    if isinstance(ttl, int | float) and not isinstance(ttl, bool) and isinstance(exp, int | float):
        return float(ttl), float(exp)
    return None, None
