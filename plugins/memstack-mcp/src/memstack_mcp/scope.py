"""Whose memories a tool call may touch.

A session has a *base scope*, fixed outside the model's reach: by `memstack mcp --user-id ...`
(stdio and the CLI's HTTP server) or by the API key that authenticated an HTTP request (inside
memstack-server). Tool arguments may only *narrow* it: an `agent_id` / `run_id` argument is
added when the base scope has none, must be equal when it has one, and `user_id` is never an
argument at all. Filters may not name a scope field either, so no argument can widen the scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memstack.errors import InvalidInput, ScopeError
from memstack.inputs import SCOPE_FIELDS, check_scope

ASGI_SCOPE_KEY = "memstack_mcp.scope"
"""Key under which the ASGI app stores the authenticated scope in the request's ASGI scope."""


def checked_scope(given: Mapping[str, Any] | None, *, source: str,
                  require_user: bool = False) -> dict[str, str]:
    """A base scope: only user_id / agent_id / run_id, plain non-empty strings, at least one.

    `source` names where it came from (flags, environment, authenticate()) for the error."""
    if not isinstance(given, Mapping):
        raise ScopeError(f"{source} must give a scope mapping such as {{'user_id': 'alice'}}, "
                         f"got {type(given).__name__}")
    unknown = sorted(set(given) - set(SCOPE_FIELDS))
    if unknown:
        raise ScopeError(f"{source} gave unknown scope keys {unknown}; allowed: "
                         f"{', '.join(SCOPE_FIELDS)}")
    values = {k: given.get(k) for k in SCOPE_FIELDS}
    if require_user and values["user_id"] is None:
        raise ScopeError(f"{source}: a user scope is required, so a model can only reach one "
                         "user's memories. Give --user-id ALICE (or set MEMSTACK_USER_ID)")
    return check_scope(**values).as_filter()


def narrowed(base: Mapping[str, str], agent_id: str | None, run_id: str | None) -> dict[str, str]:
    """The base scope with the optional tool arguments applied; they can only narrow it."""
    scope = dict(base)
    for name, value in (("agent_id", agent_id), ("run_id", run_id)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{name} must be a non-empty string when given, got {value!r}")
        fixed = scope.get(name)
        if fixed is not None and fixed != value:
            raise ScopeError(
                f"{name}={value!r} is outside this session's scope: the session is fixed to "
                f"{name}={fixed!r}. Leave {name} out to use the session's scope.")
        scope[name] = value
    return check_scope(**scope).as_filter()


def check_filters(filters: Any) -> dict[str, Any] | None:
    """Filters for metadata only: any mention of a scope field is refused (the scope comes from
    the session, and AND-ing a user_id filter would only ever match nothing anyway)."""
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise InvalidInput(f"filters must be a JSON object such as {{\"topic\": \"food\"}}, "
                           f"got {type(filters).__name__}")

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SCOPE_FIELDS:
                    raise ScopeError(
                        f"filters at {path or 'top level'} name {key!r}; scope fields cannot be "
                        "filtered on: the session's scope is applied to every call. Use the "
                        "agent_id / run_id arguments to narrow it, and filters for metadata.")
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(filters, "")
    return filters
