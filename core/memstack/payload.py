"""How a memory is laid out in a vector store payload, and how it is read back.

Payload keys: ``text``, ``hash``, the scope ids, ``actor_id``, ``role``, ``created_at``,
``updated_at`` (ISO 8601 UTC), the time fields of `memstack.timeline` (``valid_from``,
``valid_until_ts``, ...) and the user's metadata keys at top level (so filters name them
directly). Ids are derived from scope + content hash, so re-adding the same text in the same
scope — by a retry, a second thread or a re-run import — lands on the same record.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from memstack.inputs import RESERVED_KEYS
from memstack.models import SCOPE_FIELDS, MemoryItem, Record, Scope
from memstack.timeline import validity_fields

_NAMESPACE = uuid.UUID("6f1c2f55-3a4e-4c8e-9a51-6d0f3e1b2c7a")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def memory_id(scope: Scope, text_hash: str) -> str:
    key = "\x1f".join([*(getattr(scope, f) or "" for f in SCOPE_FIELDS), text_hash])
    return str(uuid.uuid5(_NAMESPACE, key))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def build_payload(
    text: str,
    scope: Scope,
    metadata: dict[str, Any],
    *,
    actor_id: str | None = None,
    role: str | None = None,
    created_at: str | None = None,
    updated_at: str | None = None,
    said_at: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """A current memory's payload; it holds from `said_at` (when given) or `created_at`."""
    payload: dict[str, Any] = dict(metadata)
    payload.update(scope.as_filter())
    payload["text"] = text
    payload["hash"] = content_hash(text)
    payload["created_at"] = created_at or now_iso()
    payload.update(validity_fields(said_at or payload["created_at"], said_at, expires_at))
    if updated_at:
        payload["updated_at"] = updated_at
    if actor_id:
        payload["actor_id"] = actor_id
    if role:
        payload["role"] = role
    return payload


def to_item(record_id: str, payload: dict[str, Any], score: float | None = None) -> MemoryItem:
    return MemoryItem(
        id=record_id,
        memory=payload.get("text", ""),
        hash=payload.get("hash", ""),
        user_id=payload.get("user_id"),
        agent_id=payload.get("agent_id"),
        run_id=payload.get("run_id"),
        actor_id=payload.get("actor_id"),
        role=payload.get("role"),
        metadata={k: v for k, v in payload.items() if k not in RESERVED_KEYS},
        created_at=payload.get("created_at", ""),
        updated_at=payload.get("updated_at"),
        score=score,
        said_at=payload.get("said_at"),
        valid_from=payload.get("valid_from") or payload.get("created_at"),
        valid_until=payload.get("valid_until"),
        expires_at=payload.get("expires_at"),
        supersedes=payload.get("supersedes"),
        superseded_by=payload.get("superseded_by"),
    )


def scope_of(payload: dict[str, Any]) -> Scope:
    return Scope(**{f: payload.get(f) for f in SCOPE_FIELDS})


def record_for(record_id: str, vector: list[float], payload: dict[str, Any]) -> Record:
    return Record.model_construct(id=record_id, vector=vector, payload=payload)
