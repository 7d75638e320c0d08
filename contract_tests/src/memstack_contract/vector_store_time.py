"""Date-time ranges and missing fields: what memories over time ask of a store (a suite mixin).

The engine keeps a memory's validity and expiry as integer epoch milliseconds (``valid_from_ts``,
``valid_until_ts`` — 253402300799000 while current — and ``expires_at_ts``) beside ISO text,
and asks for "what holds at t" with two range comparisons, or with ``NOT(field <= t)`` so that
memories written before those fields existed (the field missing) still count as current. So
every store must: compare 13-digit integers exactly (neighbouring milliseconds, the sentinel),
keep a record that lacks a field out of every comparison and in its NOT, and — with
``filter:range_str`` — order ISO 8601 date-times as strings. Each case is checked against
`memstack.filters.matches` through count, list and query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from memstack.models import Record
from memstack.timeline import FOREVER_MS, valid_at
from memstack_contract import data, guard
from memstack_contract.filter_checks import check_filter_cases
from memstack_contract.versioning import contract

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z in epoch milliseconds

# (valid_from_ts, valid_until_ts, expires_at_ts) — None: the field is absent (old layout)
TIMELINE: list[tuple[int | None, int | None, int | None]] = [
    (T0, FOREVER_MS, None),  # current since T0
    (T0 - 86_400_000, T0, None),  # closed exactly at T0 (half-open: not valid at T0)
    (T0 - 86_400_000, T0 + 1, None),  # closed one millisecond after T0
    (T0 + 1, FOREVER_MS, T0 + 3_600_000),  # begins a millisecond after T0, expires an hour later
    (None, None, None),  # written before validity existed
    (0, FOREVER_MS, T0 - 1),  # since the epoch, expired just before T0
    (T0 - 1, T0 - 1, None),  # closed the moment it began
    (None, None, T0),  # old layout with an expiry
]
ISO = ["2023-12-31T23:59:59.999999+00:00", "2024-01-01T00:00:00.000000+00:00",
       "2024-01-01T00:00:00.000001+00:00", "2024-06-30T12:00:00.000000+00:00", None,
       "1970-01-01T00:00:00.000000+00:00", "2023-12-31T23:59:59.999000+00:00", None]


def time_records() -> list[Record]:
    out = []
    for n, ((start, until, expires), text) in enumerate(zip(TIMELINE, ISO, strict=True)):
        payload: dict[str, Any] = {"user_id": "u", "n": n}
        for key, value in (("valid_from_ts", start), ("valid_until_ts", until),
                           ("expires_at_ts", expires), ("valid_from", text)):
            if value is not None:
                payload[key] = value
        out.append(Record(id=f"t{n}", vector=data.unit(n % data.DIM), payload=payload))
    return out


MOMENTS = [T0 - 1, T0, T0 + 1, T0 + 3_600_000, FOREVER_MS - 1]


def _engine_filters(t: int) -> list[dict[str, Any]]:
    """The filters `memstack.timeline` builds for moment `t`, and their parts."""
    return [
        {"NOT": {"valid_until_ts": {"lte": t}}},  # not superseded by t (missing: kept)
        {"NOT": {"expires_at_ts": {"lte": t}}},  # not expired by t (missing: kept)
        {"AND": [{"NOT": {"valid_until_ts": {"lte": t}}},
                 {"NOT": {"valid_from_ts": {"gt": t}}},
                 {"NOT": {"expires_at_ts": {"lte": t}}}, {"user_id": "u"}]},  # as_of t
        {"expires_at_ts": {"lte": t}},  # expired (prune)
        {"valid_from_ts": {"lte": t}, "valid_until_ts": {"gt": t}},  # valid_at, the same as:
        valid_at(EPOCH + timedelta(milliseconds=t)),
    ]


@guard.suite_class
class TimeTests:
    """Mixed into `VectorStoreContract`; relies on its `store`, `load` and `caps`."""

    @contract(since=3, group="filters")
    def test_epoch_millisecond_ranges_and_the_sentinel(self, store: Any) -> None:
        """Integer ranges at millisecond resolution around each boundary, the 'still valid'
        sentinel, and the engine's as-of / current / expired filters."""
        records = time_records()
        self.load(store, records)
        raws: list[Any] = []
        for t in MOMENTS:
            raws += _engine_filters(t)
        raws += [{"valid_until_ts": FOREVER_MS}, {"valid_until_ts": {"gte": FOREVER_MS}},
                 {"valid_until_ts": {"lt": FOREVER_MS}}, {"valid_from_ts": {"in": [T0, T0 + 1]}}]
        check_filter_cases(store, self.caps(store), records, raws)

    @contract(since=3, group="filters")
    def test_missing_fields_never_compare_and_negations_keep_them(self, store: Any) -> None:
        """A record without the field matches no comparison on it (ne and nin included) and
        every NOT of one; OR with a NOT brings it back."""
        records = time_records()
        self.load(store, records)
        raws: list[Any] = []
        for field in ("valid_from_ts", "valid_until_ts", "expires_at_ts"):
            raws += [{field: {"gte": 0}}, {field: {"ne": T0}}, {field: {"nin": [T0]}},
                     {"NOT": {field: {"gte": 0}}}, {"NOT": {field: {"ne": T0}}},
                     {"OR": [{field: {"gt": T0}}, {"NOT": {field: {"gte": 0}}}]}]
        check_filter_cases(store, self.caps(store), records, raws)

    @contract(since=3, group="filters")
    def test_iso_datetime_strings_order_as_text(self, store: Any) -> None:
        """ISO 8601 date-times of one layout compare as strings in time order (microseconds,
        the year 1970); needs 'filter:range_str', skipped with the standard reason without."""
        records = time_records()
        self.load(store, records)
        raws = [{"valid_from": {op: value}} for op in ("gt", "gte", "lt", "lte")
                for value in ("2024-01-01T00:00:00.000000+00:00",
                              "2023-12-31T23:59:59.999999+00:00", "1970")]
        raws += [{"NOT": {"valid_from": {"gte": "2024"}}},
                 {"valid_from": {"gte": "2024-01-01", "lt": "2024-07-01"}}]
        check_filter_cases(store, self.caps(store), records, raws)
