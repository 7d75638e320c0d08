"""Cursor pagination that is stable under concurrent writes.

Pages are keyset pages on (created_at, id): a memory's creation time and id never change (an
update keeps both), so a memory that exists for the whole walk is returned exactly once, wherever
other clients insert or delete meanwhile; memories added during the walk may or may not appear
(they sort after the cursor when the clocks agree). Offsets cannot promise this: a delete before
the offset shifts every later memory back one place, and one is skipped.

The cursor is opaque to clients (base64url of the last key). Stores that compare strings
(`filter:range_str`) receive ``created_at >= cursor`` so each page reads only what follows it;
the others are read whole and cut here, which costs O(scope) per page.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from memstack.models import MemoryItem
from memstack_server.auth import ApiProblem


def encode(created_at: str, memory_id: str) -> str:
    raw = json.dumps([created_at, memory_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, memory_id = json.loads(raw)
        if isinstance(created_at, str) and isinstance(memory_id, str):
            return created_at, memory_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise ApiProblem(400, "bad-cursor", "cursor is not one this server issued; pass the `next` "
                     "value of the previous page unchanged", field="cursor")


def page(memory: Any, scope: dict[str, str], filters: dict[str, Any] | None, limit: int,
         cursor: str | None) -> tuple[list[MemoryItem], str | None]:
    after = decode(cursor) if cursor else None
    query = filters
    caps = memory.store.capabilities
    if after and "filter:range_str" in caps and "filter:gte" in caps:
        bound = {"created_at": {"gte": after[0]}}
        query = {"AND": [filters, bound]} if filters else bound
    items = memory.get_all(**scope, filters=query, limit=None).results
    items.sort(key=lambda it: (it.created_at, it.id))
    if after:
        items = [it for it in items if (it.created_at, it.id) > after]
    out = items[:limit]
    more = len(items) > limit
    return out, encode(out[-1].created_at, out[-1].id) if more and out else None
