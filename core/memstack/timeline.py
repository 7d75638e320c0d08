"""Time in memories: when a fact was said, when it was true, when it expires — and the filters.

Payload fields (all optional, so data written before them keeps working):

- ``said_at``: when the message was said (ISO 8601 UTC), when the caller gave a timestamp;
- ``valid_from`` / ``valid_from_ts``: since when the fact holds (the message time, else the
  moment it was stored), as ISO text and as integer epoch milliseconds;
- ``valid_until`` / ``valid_until_ts``: when it stopped holding. A current memory stores the
  sentinel ``valid_until_ts = 253402300799000`` (9999-12-31T23:59:59Z) and no ``valid_until``
  text; a superseded one stores the moment and ``superseded_by`` (its successor's id);
- ``expires_at`` / ``expires_at_ts``: after this moment the memory is not returned.

Filters compare the ``*_ts`` integers: every in-tree store translates numeric ranges natively,
while ranges on strings (``filter:range_str``) are not universal (Qdrant lacks them). A memory
without these fields (written before them) is current, valid from its ``created_at``: the
engine's filters use ``NOT(field <= t)``, which by the filter semantics keeps records missing
the field, and `legacy_valid_at` settles ``created_at`` for them after the store answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from memstack.errors import InvalidInput
from memstack.filters.reference import missing_capabilities
from memstack.filters.tree import And, Comparison, FilterNode, Not

FOREVER_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z: "still valid"
FIELDS = ("said_at", "valid_from", "valid_from_ts", "valid_until", "valid_until_ts",
          "expires_at", "expires_at_ts", "supersedes", "superseded_by", "closed_by")

TimeInput = datetime | str | None


def parse_time(value: Any, field: str) -> datetime | None:
    """A datetime or an ISO 8601 string → an aware UTC datetime (naive means UTC); None stays."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 date-time such as "
                               f"'2024-05-01T09:30:00Z' or a datetime, got {value!r:.60}") from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a datetime or an ISO 8601 string, got "
                           f"{type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field} is outside the years 1..9999 in UTC: {value!r:.60}") \
            from None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds, exactly (integer arithmetic: no float rounding at the boundary)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def ms_of_iso(text: str) -> int:
    parsed = parse_time(text, "time")
    assert parsed is not None
    return to_ms(parsed)


def iso_or_none(value: TimeInput, field: str = "timestamp") -> str | None:
    moment_ = parse_time(value, field)
    return iso(moment_) if moment_ else None


def moment(value: TimeInput, field: str = "expires_at") -> datetime | None:
    return parse_time(value, field)


def now() -> datetime:
    return datetime.now(UTC)


def validity_fields(valid_from: str, said_at: str | None = None,
                    expires_at: datetime | None = None) -> dict[str, Any]:
    """The payload fields of a new, current memory."""
    out: dict[str, Any] = {"valid_from": valid_from, "valid_from_ts": ms_of_iso(valid_from),
                           "valid_until_ts": FOREVER_MS}
    if said_at:
        out["said_at"] = said_at
    if expires_at is not None:
        out["expires_at"], out["expires_at_ts"] = iso(expires_at), to_ms(expires_at)
    return out


def closing_fields(payload: Mapping[str, Any], until: str, entry_id: str,
                   successor: str | None = None) -> dict[str, Any]:
    """The payload of a version that stops being current at `until` (never before it began)."""
    start = payload.get("valid_from") or payload.get("created_at") or until
    until = max(until, start, key=ms_of_iso)
    out = {**payload, "valid_until": until, "valid_until_ts": ms_of_iso(until),
           "closed_by": entry_id}
    if "valid_from" not in out:  # a memory written before validity existed
        out["valid_from"], out["valid_from_ts"] = start, ms_of_iso(start)
    if successor:
        out["superseded_by"] = successor
    return out


def start_ms(payload: Mapping[str, Any]) -> int:
    """When a stored version began to hold (``valid_from_ts``, else its ``created_at``)."""
    start = payload.get("valid_from_ts")
    if isinstance(start, int | float):
        return int(start)
    created = payload.get("created_at")
    return ms_of_iso(str(created)) if created else 0


def is_current(payload: Mapping[str, Any]) -> bool:
    """Not superseded (the expiry is not looked at)."""
    until = payload.get("valid_until_ts")
    return not isinstance(until, int | float) or until >= FOREVER_MS


def _not_before(field: str, ms: int) -> FilterNode:
    """Records whose `field` is missing or later than `ms` (NOT keeps missing fields)."""
    return Not(Comparison(field, "lte", ms))


def valid_at(moment: TimeInput) -> dict[str, Any]:
    """A plain filter dict for "valid at this moment": two range comparisons on the ``*_ts``
    fields (records written before validity existed have neither and do not match; search's
    ``as_of`` includes them)."""
    ms = to_ms(parse_time(moment, "valid_at") or now())
    return {"valid_from_ts": {"lte": ms}, "valid_until_ts": {"gt": ms}}


@dataclass(frozen=True)
class View:
    """What a read may return: the moment, and what is left to check after the store answered
    (`in_python`: the store cannot translate the view filter, e.g. it has no ``filter:not``)."""

    at_ms: int
    as_of: bool = False
    include_superseded: bool = False
    include_expired: bool = False
    in_python: bool = False


def view_filter(as_of: TimeInput = None, include_superseded: bool = False,
                include_expired: bool = False,
                capabilities: frozenset[str] | None = None) -> tuple[FilterNode | None, View]:
    """The filter that limits reads to what holds now (default), at `as_of`, or everything,
    and the `View` for `held_at`. A store that cannot translate it gets no time filter; the
    engine then checks each result in Python (`held_at`)."""
    moment = parse_time(as_of, "as_of")
    if as_of is not None and include_superseded:
        raise InvalidInput("as_of and include_superseded=True contradict each other: as_of "
                           "returns what was valid then, include_superseded every version")
    at = to_ms(moment or now())
    parts: list[FilterNode] = []
    if not include_superseded:
        parts.append(_not_before("valid_until_ts", at))
        if moment is not None:
            parts.append(Not(Comparison("valid_from_ts", "gt", at)))
    if not include_expired:
        parts.append(_not_before("expires_at_ts", at))
    node = None if not parts else parts[0] if len(parts) == 1 else And(tuple(parts))
    python = bool(capabilities is not None and node is not None
                  and missing_capabilities(node, capabilities))
    view = View(at, moment is not None, include_superseded, include_expired, python)
    return (None if python else node), view


def held_at(items: list[Any], view: View) -> list[Any]:
    """`MemoryItem`s without those outside the view: with `as_of`, those that began after it
    (a memory without ``valid_from_ts`` began at its ``created_at``, which no store filter
    sees); when the store could not filter, everything the filter would have dropped."""
    def ms(text: str | None, default: int) -> int:
        return ms_of_iso(text) if text else default

    out = []
    for it in items:
        if view.as_of and ms(it.valid_from, 0) > view.at_ms:
            continue
        if view.in_python and (
                (not view.include_superseded and ms(it.valid_until, FOREVER_MS) <= view.at_ms)
                or (not view.include_expired and ms(it.expires_at, FOREVER_MS) <= view.at_ms)):
            continue
        out.append(it)
    return out


def explain_view(items: list[Any], scope: Mapping[str, Any], filters: Any, as_of: TimeInput,
                 include_superseded: bool, include_expired: bool) -> None:
    """Fill ``explanation["passed"]``: why each hit got through the filters and validity."""
    when = iso(parse_time(as_of, "as_of") or now()) if as_of is not None else "now"
    for it in items:
        reasons = [f"scope {', '.join(f'{k}={v!r}' for k, v in scope.items())}"]
        if filters:
            reasons.append(f"filters {filters!r}")
        if include_superseded:
            reasons.append("include_superseded: every version" +
                           ("" if it.valid_until is None else f" (superseded {it.valid_until})"))
        else:
            reasons.append(f"valid at {when}: from {it.valid_from}, "
                           + (f"until {it.valid_until}" if it.valid_until else "still current"))
        if include_expired:
            reasons.append("include_expired")
        elif it.expires_at:
            reasons.append(f"not expired (expires {it.expires_at})")
        else:
            reasons.append("no expiry")
        it.explanation = {**(it.explanation or {}), "passed": reasons}


def expired_filter(moment: datetime | None = None) -> FilterNode:
    """Memories whose expiry has passed (for `prune`)."""
    return Comparison("expires_at_ts", "lte", to_ms(moment or now()))


def current_filter() -> FilterNode:
    """Not superseded, whatever the expiry (what the LLM reconciles against)."""
    return Not(Comparison("valid_until_ts", "lt", FOREVER_MS))
