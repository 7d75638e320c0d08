"""The stored payload: the user's fields plus reserved keys the plugin owns.

- `ID_KEY`: the original memstack id (point ids are uuid5 of it, see `ids`);
- `NONSCALAR_KEY`: names of the fields whose value is a list or an object. Qdrant matches a list
  field when *any* element matches, but memstack's eq/ne/in/nin/ranges never match a list field
  and `contains` only matches one; filters consult this key to tell the two apart.
- `NORM_KEY`: the vector's length. Cosine collections store unit vectors, so `get(with_vectors)`
  multiplies it back to return the vector that was written.
- `KWLEN_KEY`: how many keyword tokens the record's text has (BM25 length normalisation; the
  tokens themselves are the sparse vector, see `keyword`).

The reserved keys are stripped on read; a user payload may not use the `_memstack_` prefix, and a
filter on such a name sees a missing field (it is pointed at `ABSENT_KEY`, never stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memstack.errors import InvalidInput
from memstack.filters import family

ID_KEY = "_memstack_id"
NONSCALAR_KEY = "_memstack_nonscalar"
NORM_KEY = "_memstack_norm"
KWLEN_KEY = "_memstack_kwlen"
RESERVED = frozenset({ID_KEY, NONSCALAR_KEY, NORM_KEY, KWLEN_KEY})
RESERVED_PREFIX = "_memstack_"
# Never stored: a filter on a reserved name is pointed here, so it sees a missing field.
ABSENT_KEY = "_memstack_absent"


def encode(record_id: str, payload: Mapping[str, Any], norm: float,
           kwlen: int | None = None) -> dict[str, Any]:
    """The payload to store for one record (`kwlen` only when keyword search is on)."""
    clash = [k for k in payload if isinstance(k, str) and k.startswith(RESERVED_PREFIX)]
    if clash:
        raise InvalidInput(
            f"qdrant: record {record_id!r} uses reserved payload key(s) {sorted(clash)}; "
            f"keys starting with {RESERVED_PREFIX!r} belong to the store"
        )
    out = dict(payload)
    nonscalar = sorted(
        k for k, v in payload.items() if v is not None and family(v) not in ("bool", "num", "str")
    )
    if nonscalar:
        out[NONSCALAR_KEY] = nonscalar
    out[ID_KEY] = record_id
    out[NORM_KEY] = norm
    if kwlen is not None:
        out[KWLEN_KEY] = kwlen
    return out


def decode(stored: Mapping[str, Any] | None) -> tuple[str | None, dict[str, Any], float]:
    """(original id, user payload, vector norm) from a stored payload."""
    stored = stored or {}
    user = {k: v for k, v in stored.items() if k not in RESERVED}
    norm = stored.get(NORM_KEY)
    return stored.get(ID_KEY), user, float(norm) if norm is not None else 1.0
