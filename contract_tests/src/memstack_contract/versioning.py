"""Contract versions: which suite version each test arrived in, and which level a provider targets.

`CONTRACT_VERSION` grows when tests are added. A provider's `ProviderSpec.contract_level` says which
version it was written against; tests newer than that level are skipped with `reason_newer`, so a
new suite release never turns an old, unchanged plugin red overnight — it shows what is new instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

# 2: query_ids and insert (capabilities 'query_ids', 'insert').
# 3: filtered top-k against brute force, stale indexes, stateful sequences, partial batches,
#    overlapping concurrency, reopen after changes, two collections, edge data, cross-process
#    embedder determinism, history order, 'quantized' and 1e-4 for everyone else.
# 4: bulk loads (capability 'bulk_load').
CONTRACT_VERSION = 4
MARKER = "memstack_contract"
ATTR = "_memstack_contract"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ContractInfo:
    """What the suite knows about one contract test: when it arrived and which report group."""

    since: int
    group: str


def contract(*, since: int, group: str) -> Callable[[F], F]:
    """Mark a method of a contract class as a contract test (version `since`, report `group`)."""
    if not 1 <= since:
        raise ValueError("contract versions start at 1")

    def deco(fn: F) -> F:
        setattr(fn, ATTR, ContractInfo(since, group))
        return pytest.mark.memstack_contract(since=since, group=group)(fn)

    return deco


def contract_info(obj: Any) -> ContractInfo | None:
    return getattr(obj, ATTR, None)


def reason_newer(since: int, level: int) -> str:
    """The standard skip reason for a test newer than the provider's contract level."""
    return (
        f"contract test added in contract version {since}; provider targets contract level "
        f"{level} (raise ProviderSpec.contract_level to {since} to run it)"
    )
