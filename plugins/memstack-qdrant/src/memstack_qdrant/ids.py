"""String ids ↔ Qdrant point ids. Qdrant takes only unsigned ints and UUIDs, memstack any string.

Each id maps to a deterministic uuid5, so writers in different processes agree without a lookup
table; the original id travels in the payload (`payload.ID_KEY`) and is given back on read.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would orphan every stored point.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/memstack/memstack-qdrant/ids")


def point_id(record_id: str) -> str:
    """The Qdrant point id (a UUID string) for a memstack id."""
    return str(uuid.uuid5(NAMESPACE, record_id))
