"""Whose memories a call touches: from fixed ids, or from the run's local context — never the model.

The Agents SDK passes `Runner.run(..., context=...)` to tools and filters but never to the LLM.
Taking the memstack scope from there (and not from tool arguments) means a prompt-injected model
cannot ask for another user's memories: the model chooses *what* to remember or look up, the
application chooses *whose*.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memstack.errors import ConfigError

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")


@dataclass(frozen=True)
class MemstackContext:
    """A run context that names the memstack scope: `Runner.run(..., context=MemstackContext(
    user_id="alice"))`. Any context object with these attributes (or a dict with these keys)
    works as well."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None


def fixed_scope(user_id: str | None, agent_id: str | None,
                run_id: str | None) -> dict[str, str]:
    """The ids given when the tools / filter / session were built (may be empty)."""
    ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    return {k: v for k, v in ids.items() if v is not None}


def resolve_scope(fixed: Mapping[str, str], context: Any) -> dict[str, str]:
    """`fixed` when given; else the scope ids on the run context. Raises when there are none:
    memories without an owner would be shared by everyone."""
    if fixed:
        return dict(fixed)
    found: dict[str, str] = {}
    for name in SCOPE_FIELDS:
        value = context.get(name) if isinstance(context, Mapping) else getattr(
            context, name, None)
        if value is not None:
            found[name] = value
    if not found:
        raise ConfigError(
            "no memstack scope: build the tools with user_id / agent_id / run_id, or run the "
            "agent with a context that has one, e.g. "
            "Runner.run(agent, input, context=MemstackContext(user_id='alice'))",
            field="context", given=type(context).__name__,
            allowed="an object or dict with user_id, agent_id or run_id")
    return found


async def call(memory: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Await an `AsyncMemory` method; run a `Memory` method in a worker thread (it blocks)."""
    from memstack import AsyncMemory

    if isinstance(memory, AsyncMemory):
        return await getattr(memory, name)(*args, **kwargs)
    return await asyncio.to_thread(getattr(memory, name), *args, **kwargs)
