"""The guard: a contract class may configure the suite, never quietly opt out of any of it.

An author sets `provider`, `provider_config`, `provider_factory` (and a few other knobs in
`OVERRIDABLE`). Everything else an official suite class defines is the suite. Overriding a contract
test is allowed only as a declared, strict expected failure — `@pytest.mark.xfail(strict=True,
reason=...)` on the override, or an entry in the class's `contract_xfail` mapping — so a known bug
is visible in the report and turns red again the day it is fixed. Removing a test (`= None`) or
overriding one of the suite's fixtures/helpers is always a violation.
"""

from __future__ import annotations

import inspect
from typing import Any

from memstack_contract.versioning import contract_info

OVERRIDABLE = frozenset(
    {
        "provider",
        "provider_config",
        "provider_factory",
        "failing_provider_config",
        "contract_level",
        "contract_xfail",
        "variant",
        "consistency_timeout",
    }
)
GUARD_TEST = "test_contract_guard"

_OFFICIAL: list[type] = []
_MISSING = object()


def suite_class(cls: type) -> type:
    """Register `cls` as part of the suite (done once, at import, by the suite's own modules)."""
    if cls not in _OFFICIAL:
        _OFFICIAL.append(cls)
    return cls


def is_official(cls: type) -> bool:
    return cls in _OFFICIAL


def is_contract_class(cls: Any) -> bool:
    """A class that inherits from a suite class (an author's or generated contract class)."""
    return isinstance(cls, type) and any(c in _OFFICIAL for c in cls.__mro__)


def _officials(cls: type) -> list[type]:
    return [c for c in cls.__mro__ if c in _OFFICIAL]


def suite_names(cls: type) -> set[str]:
    """Every attribute name the suite classes in `cls`'s ancestry define."""
    names: set[str] = set()
    for off in _officials(cls):
        names.update(n for n in vars(off) if not n.startswith("__"))
    return names


def contract_test_names(cls: type) -> set[str]:
    officials = _officials(cls)
    if not officials:
        return set()
    return {
        n for n in suite_names(cls)
        if contract_info(inspect.getattr_static(officials[0], n, None)) is not None
    }


def official_info(cls: type, name: str) -> Any:
    """The suite's `ContractInfo` for test `name` of `cls`, even when `cls` overrides the test."""
    officials = _officials(cls)
    if not officials:
        return None
    return contract_info(inspect.getattr_static(officials[0], name, None))


def has_strict_xfail(obj: Any) -> bool:
    for mark in getattr(obj, "pytestmark", []) or []:
        if (
            mark.name == "xfail"
            and not mark.args
            and mark.kwargs.get("strict") is True
            and str(mark.kwargs.get("reason", "")).strip()
        ):
            return True
    return False


def violations(cls: type) -> list[str]:
    """Why `cls` breaks the rules (empty when it plays fair)."""
    officials = _officials(cls)
    if not officials or cls in _OFFICIAL:
        return []
    nearest = officials[0]
    out: list[str] = []
    for name in sorted(suite_names(cls) - OVERRIDABLE):
        expected = inspect.getattr_static(nearest, name)
        actual = inspect.getattr_static(cls, name, _MISSING)
        if actual is expected:
            continue
        owner = next((c.__qualname__ for c in cls.__mro__ if name in vars(c)), cls.__qualname__)
        if contract_info(expected) is not None:
            if actual is None or actual is _MISSING:
                out.append(
                    f"{owner}.{name} removes a contract test; list it in `contract_xfail = "
                    f"{{{name!r}: 'why'}}` instead, so it still runs as a strict expected failure"
                )
            elif not has_strict_xfail(actual):
                out.append(
                    f"{owner}.{name} overrides a contract test without "
                    "@pytest.mark.xfail(strict=True, reason=...)"
                )
        else:
            out.append(
                f"{owner}.{name} overrides part of the suite; only these may be set: "
                + ", ".join(sorted(OVERRIDABLE))
            )
    xfails = getattr(cls, "contract_xfail", None) or {}
    if not isinstance(xfails, dict):
        out.append("contract_xfail must be a dict {test name: reason}")
        xfails = {}
    tests = contract_test_names(cls)
    for name, reason in xfails.items():
        if name not in tests:
            out.append(f"contract_xfail names {name!r}, which is not a contract test of this suite")
        elif not isinstance(reason, str) or not reason.strip():
            out.append(f"contract_xfail[{name!r}] needs a non-empty reason")
    return out


def guard_intact(cls: type) -> bool:
    officials = _officials(cls)
    if not officials:
        return True
    return inspect.getattr_static(cls, GUARD_TEST, None) is inspect.getattr_static(
        officials[0], GUARD_TEST, None
    )


def describe(problems: list[str]) -> str:
    """One line naming the first problem (the report shows it), then the full list."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"contract guard: {problems[0]}{more}\n- " + "\n- ".join(problems)
