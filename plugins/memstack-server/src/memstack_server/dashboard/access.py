"""Who is looking, and what they may see: the dashboard applies the API's scope rules.

A key bound to a scope (``{"user_id": "alice"}``) acts only inside it: a page that names
another value for one of its fields is refused (403), and every read or change by memory id
passes the key's scope to `Memory`, so a memory outside it is "not found". An admin key (or a
key bound to no scope) may look at every scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memstack_server.dashboard.session import Session

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
SCOPE_LABELS = {"user_id": "user", "agent_id": "agent", "run_id": "run"}


class ScopeForbidden(Exception):
    """A page or form named a scope outside the signed-in key's scope."""

    def __init__(self, field: str, given: str, allowed: str) -> None:
        self.field, self.given, self.allowed = field, given, allowed
        super().__init__(f"{field}={given!r} is outside this key's scope "
                         f"({field}={allowed!r} is allowed)")


class ReadOnlyKey(Exception):
    """A change was asked for with a read-only key."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in key (as the key registry returned it) and its session."""

    key: Any
    session: Session

    @property
    def signed_in(self) -> bool:
        """False when the server runs without auth (nothing to sign out of)."""
        return bool(self.session.raw_key)

    @property
    def name(self) -> str:
        return str(getattr(self.key, "name", "") or getattr(self.key, "id", "key"))

    @property
    def admin(self) -> bool:
        return bool(getattr(self.key, "admin", False))

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.key, "read_only", False))

    @property
    def scope(self) -> dict[str, str]:
        """The key's binding: empty for admin keys, which may act on any scope."""
        if self.admin:
            return {}
        raw: Mapping[str, Any] = getattr(self.key, "scope", None) or {}
        return {f: str(raw[f]) for f in SCOPE_FIELDS if raw.get(f)}

    @property
    def actor(self) -> str:
        """What the history records as the author of a change made from the dashboard."""
        return f"dashboard:{self.name}"

    def within(self, requested: Mapping[str, str | None]) -> dict[str, str]:
        """The scope a page works in: what it asked for, narrowed to the key's scope.

        Raises `ScopeForbidden` when it names another value for a field the key is bound to.
        """
        wanted = {f: v for f in SCOPE_FIELDS if (v := requested.get(f))}
        for field, allowed in self.scope.items():
            given = wanted.get(field)
            if given is not None and given != allowed:
                raise ScopeForbidden(field, given, allowed)
        return {**wanted, **self.scope}

    def check_can_write(self) -> None:
        if self.read_only:
            raise ReadOnlyKey()
