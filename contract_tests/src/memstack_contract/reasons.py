"""Every reason the suite may give for skipping a test — and nothing else skips a contract test.

- `reason_missing(cap)` (from the core): the provider does not declare capability `cap`;
- `reason_newer(since, level)`: the test is newer than the provider's contract level;
- `NOT_REGISTERED`: a hand-made provider (no `ProviderSpec`), so plugin-level checks cannot run.

A skip with any other reason (e.g. a `pytest.skip` in an author's fixture because a server is down)
is shown in the report as an *environment* skip, so readers can tell the two apart.
"""

from __future__ import annotations

from memstack import capabilities as caps
from memstack.capabilities import reason_missing
from memstack_contract.versioning import reason_newer

# Not (yet) in the core's capability list: writes become visible after a bounded delay, so the
# suite polls reads with `eventually` instead of expecting them at once.
EVENTUALLY_CONSISTENT = getattr(caps, "EVENTUALLY_CONSISTENT", "eventually_consistent")

NOT_REGISTERED = (
    "hand-made provider (provider_factory, no registered ProviderSpec): plugin-level checks need "
    "an installed plugin"
)

_PREFIXES = (reason_missing("x").split(":")[0] + ":", "contract test added in contract version")


def reason_for(capability: str) -> str:
    if capability == EVENTUALLY_CONSISTENT:
        return "capability not declared: store does not declare 'eventually_consistent'"
    return reason_missing(capability)


def is_standard(reason: str) -> bool:
    """True for reasons the suite itself gives (capabilities, versions, hand-made providers)."""
    return reason.startswith(_PREFIXES) or reason == NOT_REGISTERED


__all__ = [
    "EVENTUALLY_CONSISTENT",
    "NOT_REGISTERED",
    "is_standard",
    "reason_for",
    "reason_missing",
    "reason_newer",
]
