"""LangChain tools an agent calls to keep and find memories: `manage_memory`, `search_memory`.

They follow langmem's tools (same names and arguments), so agents written for langmem work
unchanged, but the memories land in memstack. Scoping is the application's job, never the
model's: the namespace is a template whose ``{placeholders}`` are filled from the run's
``config["configurable"]`` (default ``("{user_id}", "memories")``: the user id is the first label,
which `MemstackStore` maps to memstack's ``user_id``). The model cannot name another user.

The store is the one passed here, or else the graph's own (``graph.compile(store=...)``,
read with `langgraph.config.get_store`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool
from langgraph.store.base import BaseStore

DEFAULT_NAMESPACE = ("{user_id}", "memories")
Action = Literal["create", "update", "delete"]

MANAGE_DESCRIPTION = (
    "Create, update or delete a long-term memory about the user, kept across conversations. "
    "Use it when the user shares a lasting fact or preference, or corrects one you have. "
    "To update or delete, pass the memory's id (from search_memory). {instructions}"
)
SEARCH_DESCRIPTION = (
    "Search the long-term memories about the user (facts, preferences, earlier decisions) "
    "with a natural-language query. {instructions}"
)


def resolve_namespace(template: Sequence[str], config: RunnableConfig | None) -> tuple[str, ...]:
    """Fill ``{name}`` labels from ``config["configurable"]``; a missing one is an error."""
    configurable = (config or {}).get("configurable") or {}
    out: list[str] = []
    for label in template:
        if "{" not in label:
            out.append(label)
            continue
        try:
            filled = label.format(**{k: v for k, v in configurable.items()
                                     if isinstance(k, str)})
        except KeyError as exc:
            raise ValueError(
                f"namespace label {label!r} needs config['configurable'][{exc.args[0]!r}]; "
                f"the run's config gives {sorted(configurable)}") from None
        if not filled:
            raise ValueError(f"namespace label {label!r} filled from the config is empty")
        out.append(filled)
    return tuple(out)


def _store(store: BaseStore | None) -> BaseStore:
    if store is not None:
        return store
    from langgraph.config import get_store

    try:
        return get_store()
    except RuntimeError as exc:
        raise RuntimeError("no store: pass store= to the tool factory, or run the tool inside a "
                           "graph compiled with store=MemstackStore(...)") from exc


def _check_manage(content: str | None, action: str, id: str | None) -> None:
    if action not in ("create", "update", "delete"):
        raise ValueError(f"action must be create, update or delete, got {action!r}")
    if action in ("create", "update") and not (content and content.strip()):
        raise ValueError(f"action {action!r} needs content (the memory text)")
    if action in ("update", "delete") and not id:
        raise ValueError(f"action {action!r} needs the memory id (search_memory gives it)")


def create_manage_memory_tool(
    namespace: Sequence[str] = DEFAULT_NAMESPACE,
    *,
    store: BaseStore | None = None,
    instructions: str = "",
    name: str = "manage_memory",
) -> StructuredTool:
    """A tool that creates, updates and deletes memories ``{"content": ...}`` in `namespace`."""
    template = tuple(namespace)

    def manage_memory(content: str | None = None, action: Action = "create",
                      id: str | None = None, *, config: RunnableConfig) -> str:
        _check_manage(content, action, id)
        ns = resolve_namespace(template, config)
        s = _store(store)
        key = id or str(uuid.uuid4())
        if action == "delete":
            s.delete(ns, key)
            return f"deleted memory {key}"
        s.put(ns, key, {"content": content})
        return f"{action}d memory {key}"

    async def amanage_memory(content: str | None = None, action: Action = "create",
                             id: str | None = None, *, config: RunnableConfig) -> str:
        _check_manage(content, action, id)
        ns = resolve_namespace(template, config)
        s = _store(store)
        key = id or str(uuid.uuid4())
        if action == "delete":
            await s.adelete(ns, key)
            return f"deleted memory {key}"
        await s.aput(ns, key, {"content": content})
        return f"{action}d memory {key}"

    return StructuredTool.from_function(
        func=manage_memory, coroutine=amanage_memory, name=name,
        description=MANAGE_DESCRIPTION.format(instructions=instructions).strip())


def _results(items: Sequence[Any]) -> str:
    return json.dumps([{"id": it.key, "namespace": list(it.namespace), "value": it.value,
                        "score": it.score, "updated_at": it.updated_at.isoformat()}
                       for it in items], ensure_ascii=False, default=str)


def create_search_memory_tool(
    namespace: Sequence[str] = DEFAULT_NAMESPACE,
    *,
    store: BaseStore | None = None,
    instructions: str = "",
    name: str = "search_memory",
) -> StructuredTool:
    """A tool that searches memories in `namespace` (memstack hybrid search); returns JSON."""
    template = tuple(namespace)

    def search_memory(query: str, limit: int = 10, offset: int = 0,
                      filter: dict[str, Any] | None = None, *, config: RunnableConfig) -> str:
        ns = resolve_namespace(template, config)
        items = _store(store).search(ns, query=query, filter=filter, limit=limit,
                                     offset=offset)
        return _results(items)

    async def asearch_memory(query: str, limit: int = 10, offset: int = 0,
                             filter: dict[str, Any] | None = None, *,
                             config: RunnableConfig) -> str:
        ns = resolve_namespace(template, config)
        items = await _store(store).asearch(ns, query=query, filter=filter, limit=limit,
                                            offset=offset)
        return _results(items)

    return StructuredTool.from_function(
        func=search_memory, coroutine=asearch_memory, name=name,
        description=SEARCH_DESCRIPTION.format(instructions=instructions).strip())


def create_memory_tools(namespace: Sequence[str] = DEFAULT_NAMESPACE, *,
                        store: BaseStore | None = None) -> list[StructuredTool]:
    """Both tools on one namespace template: ``[manage_memory, search_memory]``."""
    return [create_manage_memory_tool(namespace, store=store),
            create_search_memory_tool(namespace, store=store)]
