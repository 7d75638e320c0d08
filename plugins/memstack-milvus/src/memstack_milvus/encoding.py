"""How records are laid out in Milvus — pure Python, no pymilvus.

Each record is one row with four fields:

- ``pk`` (VARCHAR primary key): the id's UTF-8 bytes in lowercase hex, so any string id works,
  the expression text for an id is only ``[0-9a-f]`` and pk order is the id's code-point order.
  Ids over 32,767 UTF-8 bytes (which would not fit the 65,535-byte VARCHAR) become ``~`` + SHA-256.
- ``vector`` (FLOAT_VECTOR).
- ``doc`` (ARRAY of VARCHAR): ``[id, payload]`` as JSON text, cut into chunks that each fit a
  VARCHAR. This is what reads return, so payloads round-trip exactly and may be far larger than
  Milvus' 65,536-byte JSON limit (100 KB of text is fine).
- ``idx`` (JSON): a typed *filter index* of the payload, which is what filters look at. Every
  payload field whose name is an identifier gets keys tagged by type, so a comparison only ever
  meets values of its own type family:

  ========  =====================================================================
  ``t_f``   1 when ``f`` holds a scalar (string, number or boolean): ne/nin need it
  ``s_f``   a string of at most 512 UTF-8 bytes, as hex of its UTF-8 bytes
  ``p_f``   a longer string: hex of its first 512 bytes ...
  ``h_f``   ... and the SHA-256 of all of it (equality on long strings)
  ``i_f``   an int within int64
  ``f_f``   a finite float (or an int beyond int64, as a float)
  ``x_f``   "+" / "-" for an infinite float (NaN gets only ``t_f``: it equals nothing)
  ``b_f``   a boolean
  ``S_f`` ``H_f`` ``I_f`` ``F_f`` ``B_f``  the elements of a list, split the same way
  ========  =====================================================================

  Hex keeps code-point order (UTF-8 byte order is code-point order, and two hex digits per byte
  keep byte order), so range filters on strings compare hex strings. Nothing a user wrote ever
  appears in an expression except as hex digits or a number Python formatted.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from memstack.errors import InvalidInput
from memstack.filters.parse import FIELD_RE, family

PROVIDER = "milvus"
SHORT_BYTES = 512  # strings up to this many UTF-8 bytes are indexed whole
VARCHAR_MAX = 65_535  # Milvus' VARCHAR limit, in bytes
CHUNK_CHARS = VARCHAR_MAX // 4  # any 16,383 characters fit 65,535 UTF-8 bytes
MAX_CHUNKS = 4_096  # Milvus' ARRAY max_capacity
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
LONG_ID_PREFIX = "~"  # never a hex digit, so hashed pks cannot collide with hex ones


def utf8(text: str) -> bytes:
    """UTF-8 bytes; lone surrogates (legal in a Python str) are kept, not refused."""
    return text.encode("utf-8", "surrogatepass")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pk_of(record_id: Any) -> str:
    """The primary key of an id (see the module docstring)."""
    if not isinstance(record_id, str) or not record_id:
        raise InvalidInput(f"{PROVIDER}: ids are non-empty strings, got {record_id!r}")
    raw = utf8(record_id)
    if 2 * len(raw) <= VARCHAR_MAX:
        return raw.hex()
    return LONG_ID_PREFIX + sha(raw)


# --- payload document ---------------------------------------------------------------------------
def encode_doc(record_id: str, payload: Mapping[str, Any]) -> list[str]:
    """``[id, payload]`` as JSON text in VARCHAR-sized chunks."""
    try:
        text = json.dumps([record_id, payload], ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{PROVIDER}: payload of record {record_id!r} is not JSON data: {exc}"
        ) from exc
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: let JSON escape them
        text = json.dumps([record_id, payload], ensure_ascii=True, allow_nan=True)
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
    if len(chunks) > MAX_CHUNKS:
        raise InvalidInput(
            f"{PROVIDER}: record {record_id!r} is {len(text):,} characters as JSON; this store "
            f"keeps at most {MAX_CHUNKS * CHUNK_CHARS:,} per record"
        )
    return chunks


def id_of(pk: str) -> str:
    """The id of a hex primary key (not of a hashed ``~`` one: read its row for that)."""
    return bytes.fromhex(pk).decode("utf-8", "surrogatepass")


def decode_doc(chunks: list[str]) -> tuple[str, dict[str, Any]]:
    record_id, payload = json.loads("".join(chunks))
    return record_id, payload


# --- filter index -------------------------------------------------------------------------------
def number_key(value: int | float) -> tuple[str, Any] | None:
    """(tag, stored value) of a number; None for NaN, which equals and orders with nothing."""
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return "i_", value
        try:
            return "f_", float(value)
        except OverflowError:
            return "x_", "+" if value > 0 else "-"
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "x_", "+" if value > 0 else "-"
    return "f_", value


def _index_list(key: str, items: list[Any] | tuple[Any, ...], out: dict[str, Any]) -> None:
    parts: dict[str, list[Any]] = {"S_": [], "H_": [], "I_": [], "F_": [], "B_": []}
    for item in items:
        fam = family(item)
        if fam == "str":
            raw = utf8(item)
            if len(raw) <= SHORT_BYTES:
                parts["S_"].append(raw.hex())
            else:
                parts["H_"].append(sha(raw))
        elif fam == "bool":
            parts["B_"].append(item)
        elif fam == "num":
            tagged = number_key(item)
            if tagged is not None and tagged[0] in ("i_", "f_"):  # inf/NaN equal no filter value
                parts[tagged[0].upper()].append(tagged[1])
    for tag, values in parts.items():
        if values:
            unique = list(dict.fromkeys((type(v), v) for v in values))
            out[tag + key] = [v for _, v in unique]


def index_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The typed filter index of a payload (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if not isinstance(key, str) or not FIELD_RE.match(key):
            continue  # filters can only name identifiers
        fam = family(value)
        if fam == "str":
            raw = utf8(value)
            out["t_" + key] = 1
            if len(raw) <= SHORT_BYTES:
                out["s_" + key] = raw.hex()
            else:
                out["p_" + key] = raw[:SHORT_BYTES].hex()
                out["h_" + key] = sha(raw)
        elif fam == "bool":
            out["t_" + key] = 1
            out["b_" + key] = value
        elif fam == "num":
            out["t_" + key] = 1
            tagged = number_key(value)
            if tagged is not None:
                out[tagged[0] + key] = tagged[1]
        elif fam == "list":
            _index_list(key, value, out)
        # None, dicts and other values: no keys, so no comparison matches them (as in the reference)
    return out


def index_json_size(index: Mapping[str, Any]) -> int:
    return len(json.dumps(index, separators=(",", ":")).encode("utf-8"))


def check_index_size(record_id: str, index: Mapping[str, Any], limit: int) -> None:
    size = index_json_size(index)
    if size <= limit:
        return
    biggest = sorted(index, key=lambda k: -index_json_size({k: index[k]}))[:3]
    fields = ", ".join(sorted({k[2:] for k in biggest}))
    raise InvalidInput(
        f"{PROVIDER}: record {record_id!r} has a filter index of {size:,} bytes; Milvus JSON "
        f"fields hold at most {limit:,}. Largest contributors: {fields}. Long strings cost "
        f"~1 KB each; long lists of strings cost the most — store them under a key that is not "
        "an identifier (e.g. 'tags-all') to keep them out of the index."
    )
