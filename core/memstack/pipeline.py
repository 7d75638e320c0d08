"""Mutable context objects handed to pipeline hooks (see `memstack.hookspecs`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memstack.models import ChatMessage, MemoryEvent, MemoryItem, Scope


@dataclass
class AddContext:
    messages: list[ChatMessage]
    scope: Scope
    metadata: dict[str, Any]
    infer: bool


@dataclass
class ChangeContext:
    event: MemoryEvent
    scope: Scope


@dataclass
class SearchContext:
    query: str
    scope: Scope
    filters: dict[str, Any] | None
    limit: int
    results: list[MemoryItem] = field(default_factory=list)


def run_hook(name: str, ctx: object, *, strict: bool) -> None:
    """Call every plugin's `name` hook with `ctx`, in registration order.

    strict (before_* hooks, which may transform input): an error aborts the operation with a
    `PluginError` naming the plugin — nothing is written. Otherwise (after_* observers): the error
    is logged and recorded on the plugin, and the operation's result stands.
    """
    import logging

    from memstack.errors import PluginError
    from memstack.plugins import plugin_system

    system = plugin_system()
    for impl in getattr(system.pm.hook, name).get_hookimpls():
        try:
            impl.function(ctx=ctx)
        except Exception as exc:
            info = system.info_for(impl.plugin)
            who = impl.plugin_name
            if strict:
                raise PluginError(f"plugin {who!r} failed in {name}: {type(exc).__name__}: "
                                  f"{exc}; nothing was written") from exc
            logging.getLogger("memstack").warning("plugin %r failed in %s: %s", who, name, exc)
            if info is not None:
                info.error = f"{name} raised {type(exc).__name__}: {exc}"
