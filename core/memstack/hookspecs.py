"""Every hook a memstack plugin can implement — the one file a plugin author reads.

A plugin is a module (named by an entry point in the group ``memstack``) or any object whose
functions are marked ``@memstack.hookimpl`` and named like the specs below.

Registration hooks return lists of `ProviderSpec`, one hook per kind of provider.
Pipeline hooks take part in every `Memory` call: they receive a mutable context object and may
change it in place (redact text, add filters, drop results) or just observe (audit, metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from memstack.capabilities import Kind
from memstack.models import ChatMessage, MemoryEvent, MemoryItem, Scope

if TYPE_CHECKING:
    import argparse

    from memstack.spec import ProviderSpec

PROJECT = "memstack"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- the contexts pipeline hooks receive (mutable: a hook may change them in place) ----------
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


# --- registration: one hook per provider kind ------------------------------------------------
@hookspec
def memstack_vector_stores() -> list[ProviderSpec]:
    """Vector store providers this plugin offers (kind ``vector_store``)."""


@hookspec
def memstack_embedders() -> list[ProviderSpec]:
    """Embedder providers (kind ``embedder``)."""


@hookspec
def memstack_llms() -> list[ProviderSpec]:
    """LLM providers (kind ``llm``)."""


@hookspec
def memstack_rerankers() -> list[ProviderSpec]:
    """Reranker providers (kind ``reranker``)."""


@hookspec
def memstack_history_stores() -> list[ProviderSpec]:
    """History store providers (kind ``history_store``); the core ships ``sqlite``."""


# --- pipeline: called by the Memory engine on every call --------------------------------------
@hookspec
def memstack_before_add(ctx: AddContext) -> None:
    """Before facts are extracted or text is stored. Edit ``ctx.messages`` / ``ctx.metadata``
    to transform what gets stored (e.g. redact e-mail addresses)."""


@hookspec
def memstack_after_change(ctx: ChangeContext) -> None:
    """After a change (ADD / UPDATE / DELETE) is committed to the store and the history."""


@hookspec
def memstack_before_search(ctx: SearchContext) -> None:
    """Before a search runs. Edit ``ctx.query``, ``ctx.filters`` or ``ctx.limit``."""


@hookspec
def memstack_after_search(ctx: SearchContext) -> None:
    """After a search, with ``ctx.results`` set; edit the list to filter or re-order results."""


# --- command line: plugins add `memstack` subcommands -----------------------------------------
@hookspec
def memstack_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add subcommands to the `memstack` command (as datasette's ``register_commands`` does).

    Call ``subparsers.add_parser(NAME, help=...)``, add arguments, and
    ``set_defaults(func=handler)``; ``handler(args) -> int`` is the exit code. Import heavy
    libraries inside the handler, not at module level, so ``memstack --help`` stays fast. A
    `MemstackError` raised by the handler prints ``error: ...`` and exits 2. The core adds no
    command through this hook; ``memstack check`` comes from memstack-contract-tests this way.
    """


# kind → its registration hook (memstack_vector_stores, memstack_embedders, ...)
REGISTRATION_HOOKS = {str(kind): f"memstack_{kind}s" for kind in Kind}
# Pipeline hooks that may change their input: an error aborts the operation (nothing written).
# The others observe: an error is logged and recorded on the plugin, the result stands.
STRICT_HOOKS = frozenset({"memstack_before_add", "memstack_before_search"})
