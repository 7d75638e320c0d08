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

# Not (yet) in the core's list either: the store keeps vectors approximately by design (int8,
# bfloat16, product quantisation), so scores and vectors read back are held to 1e-2, not 1e-4.
QUANTIZED = getattr(caps, "QUANTIZED", "quantized")

# Declared by LLMs that read the image parts of `ChatMessage.images` (memstack.capabilities.VISION).
VISION = getattr(caps, "VISION", "vision")

NOT_REGISTERED = (
    "hand-made provider (provider_factory, no registered ProviderSpec): plugin-level checks need "
    "an installed plugin"
)

_PREFIXES = (reason_missing("x").split(":")[0] + ":", "contract test added in contract version")


def reason_for(capability: str) -> str:
    if capability == EVENTUALLY_CONSISTENT:
        return "capability not declared: store does not declare 'eventually_consistent'"
    return reason_missing(capability)


def known_capabilities() -> frozenset[str]:
    """Every capability name the core or the suite gives a meaning to."""
    names = {v for k, v in vars(caps).items() if k.isupper() and isinstance(v, str)
             and k not in ("FILTER_OPS",)}
    return frozenset(names | caps.ALL_FILTER_CAPS | {EVENTUALLY_CONSISTENT, QUANTIZED, VISION})


def unknown_capability_problem(name: str) -> str | None:
    """Why `name` is not a capability (naming the closest known one), or None when it is."""
    import difflib

    known = known_capabilities()
    if name in known:
        return None
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
    return f"unknown capability {name!r}{hint} (a misspelt capability silently skips its tests)"


def is_standard(reason: str) -> bool:
    """True for reasons the suite itself gives (capabilities, versions, hand-made providers)."""
    return reason.startswith(_PREFIXES) or reason == NOT_REGISTERED


__all__ = [
    "EVENTUALLY_CONSISTENT",
    "NOT_REGISTERED",
    "QUANTIZED",
    "is_standard",
    "known_capabilities",
    "reason_for",
    "reason_missing",
    "reason_newer",
    "unknown_capability_problem",
]
