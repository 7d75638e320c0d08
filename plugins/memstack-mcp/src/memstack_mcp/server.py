"""The MCP server: eight memory tools and the `memory://{id}` resource over one `Memory`.

Every tool resolves the caller's scope first (`scope.py`): on stdio the scope fixed at start;
over HTTP the scope the ASGI app authenticated for *this* request. Every engine call gets that
scope, so the engine's own checks (a memory id outside the scope is "not found") do the
isolation; the tools add no second, weaker path. Failures become MCP tool errors (`isError`) with
the engine's message, which names the field, what was given and what is allowed.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

import memstack
from memstack.errors import MemoryNotFound, MemstackError
from memstack.models import HistoryEntry, MemoryEvent, MemoryItem, Scope
from memstack.payload import memory_id as derived_id
from memstack_mcp import __version__
from memstack_mcp.scope import ASGI_SCOPE_KEY, check_filters, narrowed

log = logging.getLogger("memstack_mcp")
F = TypeVar("F", bound=Callable[..., Any])

MAX_PAGE = 100
MAX_SEARCH = 50

INSTRUCTIONS = """\
Long-term memory for the current user, kept across conversations.
- At the start of a task, call search_memories with what the user is asking about.
- When the user states a lasting fact, preference or decision, call add_memory with it.
- When a memory is wrong or outdated, call update_memory (or delete_memory) with its id.
Memory ids come from search_memories, list_memories and add_memory results.
Every call is limited to this session's user; you cannot reach other users' memories."""

AgentId = Annotated[str | None, Field(
    description="Narrow to memories of this agent (optional). Must equal the session's agent "
                "if the session is fixed to one.")]
RunId = Annotated[str | None, Field(
    description="Narrow to memories of this run / conversation (optional). Must equal the "
                "session's run if the session is fixed to one.")]
MemoryId = Annotated[str, Field(
    min_length=1, max_length=256,
    description="A memory id from search_memories, list_memories or add_memory.")]
Filters = Annotated[dict[str, Any] | None, Field(
    description='Metadata filter (optional), e.g. {"topic": "food"}, '
                '{"priority": {"gte": 2}}, {"OR": [{"topic": "food"}, {"topic": "travel"}]}. '
                "Operators: eq ne in nin gt gte lt lte contains; AND / OR / NOT. "
                "Scope fields (user_id, agent_id, run_id) are not allowed here.")]


def compact(item: MemoryItem) -> dict[str, Any]:
    """What a model needs of a memory: id, text, score, dates; metadata and narrower scope
    ids only when set, so a list of memories stays small in a model's context."""
    out: dict[str, Any] = {"id": item.id, "text": item.memory}
    if item.score is not None:
        out["score"] = round(item.score, 4)
    if item.rerank_score is not None:
        out["rerank_score"] = round(item.rerank_score, 4)
    out["created_at"] = item.created_at
    if item.updated_at:
        out["updated_at"] = item.updated_at
    if item.metadata:
        out["metadata"] = item.metadata
    for key in ("agent_id", "run_id"):
        value = getattr(item, key)
        if value is not None:
            out[key] = value
    return out


def event_dict(event: MemoryEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"id": event.id, "event": event.event, "text": event.memory}
    if event.previous_memory is not None:
        out["previous_text"] = event.previous_memory
    supersedes = getattr(event, "supersedes", None)  # an inferred UPDATE replaces a version
    if supersedes is not None:
        out["supersedes"] = supersedes
    return out


def history_dict(entry: HistoryEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"event": entry.event, "at": entry.created_at}
    if entry.old_memory is not None:
        out["old_text"] = entry.old_memory
    if entry.new_memory is not None:
        out["new_text"] = entry.new_memory
    return out


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Turn every failure into a tool error a model can act on; never crash the session.

    memstack errors carry an actionable message (secrets already scrubbed by the engine);
    anything else is logged with its traceback and reported by type only, since its text was
    not written for a model and could carry backend details."""
    try:
        yield
    except ToolError:
        raise
    except MemoryNotFound as exc:
        raise ToolError(f"{exc}. Ids come from search_memories, list_memories or "
                        "add_memory; a memory outside your scope is never found.") from None
    except MemstackError as exc:
        raise ToolError(str(exc)) from None
    except Exception as exc:
        log.exception("tool %s failed unexpectedly", tool)
        raise ToolError(f"internal error ({type(exc).__name__}); the server log has "
                        "the details. The call changed nothing you can rely on; retry once, "
                        "then report it.") from None


def build_server(memory: memstack.Memory, fixed_scope: Mapping[str, str] | None = None,
                 *, log_level: str = "WARNING") -> MCPServer:
    """An `MCPServer` whose tools act on `memory`.

    `fixed_scope` is the session scope for transports without a per-request identity (stdio);
    over HTTP, `create_mcp_asgi_app` stores the authenticated scope on each request, which wins.
    A call with neither is refused, never run unscoped."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    mcp = MCPServer("memstack", version=__version__, instructions=INSTRUCTIONS,
                    log_level=log_level)  # type: ignore[arg-type]
    # MCPServer calls logging.basicConfig; a host app that mounts us keeps its own logging.
    root.handlers[:], root.level = handlers, level
    fixed = dict(fixed_scope) if fixed_scope else None

    def base_scope(ctx: Context | None) -> dict[str, str]:
        request = None
        if ctx is not None:
            try:
                request = ctx.request_context.request
            except (ValueError, AttributeError, LookupError):
                request = None
        asgi_scope = getattr(request, "scope", None)
        if isinstance(asgi_scope, Mapping) and ASGI_SCOPE_KEY in asgi_scope:
            return dict(asgi_scope[ASGI_SCOPE_KEY])
        if fixed is not None:
            return dict(fixed)
        raise ToolError("this session has no memory scope: start the server with --user-id, or "
                        "authenticate the HTTP request with an API key")

    def scope_for(ctx: Context | None, agent_id: str | None = None,
                  run_id: str | None = None) -> dict[str, str]:
        return narrowed(base_scope(ctx), agent_id, run_id)

    def tool(annotations: ToolAnnotations) -> Callable[[F], F]:
        """Register a tool; its docstring, dedented, is the description the model reads."""
        def register(fn: F) -> F:
            mcp.add_tool(fn, description=inspect.cleandoc(fn.__doc__ or ""),
                         annotations=annotations)
            return fn
        return register

    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                idempotent_hint=True, open_world_hint=False)

    @tool(ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                          idempotent_hint=True, open_world_hint=False))
    def add_memory(
        text: Annotated[str, Field(min_length=1, description=(
            "What to remember: a fact, preference or decision in plain words, e.g. 'Prefers "
            "window seats'. With an LLM configured it may be a conversation excerpt: facts "
            "are extracted and reconciled with what is already stored."))],
        ctx: Context,
        metadata: Annotated[dict[str, Any] | None, Field(description=(
            'Flat JSON object of tags to filter on later, e.g. {"topic": "travel"} '
            "(optional). Values: string, number, boolean or a list of strings."))] = None,
        infer: Annotated[bool | None, Field(description=(
            "false stores the text exactly as given; true extracts facts with the LLM; "
            "leave out for the server's default (extract when an LLM is configured)."))] = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> dict[str, Any]:
        """Remember something about the user for future conversations.

        Call it when the user states a lasting fact, preference, plan or decision. Returns the
        events: ADD (new memory, with its id), UPDATE (an existing memory was revised), DELETE
        (a contradicted memory was removed) or NONE (already known). Adding the same text twice
        is harmless."""
        with tool_errors("add_memory"):
            scope = scope_for(ctx, agent_id, run_id)
            result = memory.add(text, **scope, metadata=metadata, infer=infer)
            return {"events": [event_dict(e) for e in result.results],
                    "inferred": result.inferred}

    @tool(read_only)
    def search_memories(
        query: Annotated[str, Field(min_length=1, description=(
            "What to look for, in natural language, e.g. 'travel preferences'."))],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=MAX_SEARCH, description=(
            f"How many memories to return, best first (1-{MAX_SEARCH})."))] = 5,
        threshold: Annotated[float | None, Field(ge=-1.0, le=1.0, description=(
            "Drop results whose score (cosine similarity, -1..1) is below this."))] = None,
        filters: Filters = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> dict[str, Any]:
        """Find the user's memories most relevant to a query, best first.

        Call it before answering anything that may depend on what you know about the user.
        Returns {"results": [{"id", "text", "score", "created_at", ...}]}; higher score is more
        relevant. An empty list means nothing relevant is stored."""
        with tool_errors("search_memories"):
            scope = scope_for(ctx, agent_id, run_id)
            found = memory.search(query, **scope, limit=limit, threshold=threshold,
                                  filters=check_filters(filters))
            return {"results": [compact(m) for m in found.results]}

    @tool(read_only)
    def list_memories(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description=(
            f"Page size (1-{MAX_PAGE})."))] = 20,
        cursor: Annotated[str | None, Field(description=(
            "next_cursor from the previous page; leave out for the first page."))] = None,
        filters: Filters = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> dict[str, Any]:
        """List the user's memories, a page at a time, in a stable order.

        Use it to review everything stored (search_memories is better to find something).
        Returns {"memories": [...], "next_cursor": "..."}; pass next_cursor back to get the next
        page; next_cursor is null on the last page."""
        with tool_errors("list_memories"):
            offset = parse_cursor(cursor)
            scope = scope_for(ctx, agent_id, run_id)
            page = memory.get_all(**scope, filters=check_filters(filters), limit=limit + 1,
                                  offset=offset).results
            more = len(page) > limit
            return {"memories": [compact(m) for m in page[:limit]],
                    "next_cursor": str(offset + limit) if more else None}

    @tool(read_only)
    def get_memory(memory_id: MemoryId, ctx: Context) -> dict[str, Any]:
        """Read one memory by id: its text, dates and metadata."""
        with tool_errors("get_memory"):
            scope = base_scope(ctx)
            item = memory.get(memory_id, **scope)
            if item is None:
                raise MemoryNotFound(f"no memory with id {memory_id!r} in your scope")
            return compact(item)

    @tool(ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                          idempotent_hint=True, open_world_hint=False))
    def update_memory(
        memory_id: MemoryId,
        text: Annotated[str, Field(min_length=1, description="The corrected memory text.")],
        ctx: Context,
        metadata: Annotated[dict[str, Any] | None, Field(description=(
            "Metadata keys to set or change (merged into the existing metadata; optional)."
            ))] = None,
    ) -> dict[str, Any]:
        """Replace the text of a memory that is wrong or outdated (the old text stays in its
        history). Returns the event: UPDATE with the previous text, or NONE if unchanged."""
        with tool_errors("update_memory"):
            event = memory.update(memory_id, text, metadata=metadata, **base_scope(ctx))
            return event_dict(event)

    @tool(ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                          idempotent_hint=False, open_world_hint=False))
    def delete_memory(memory_id: MemoryId, ctx: Context) -> dict[str, Any]:
        """Delete one memory that is wrong or that the user asked to forget. Its history is
        kept. Returns the DELETE event with the deleted text."""
        with tool_errors("delete_memory"):
            return event_dict(memory.delete(memory_id, **base_scope(ctx)))

    @tool(ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                          idempotent_hint=False, open_world_hint=False))
    def delete_all_memories(
        confirm: Annotated[bool, Field(description=(
            "Must be true. Only call this when the user explicitly asked to forget everything."
            ))],
        ctx: Context,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> dict[str, Any]:
        """Delete every memory in the session's scope (or in the narrower agent / run given).
        Cannot be undone. Returns {"deleted": count}."""
        with tool_errors("delete_all_memories"):
            if confirm is not True:
                raise ToolError("confirm must be true; nothing was "
                                "deleted. Only confirm when the user asked to forget everything.")
            scope = scope_for(ctx, agent_id, run_id)
            return {"deleted": len(memory.delete_all(**scope))}

    @tool(read_only)
    def memory_history(
        memory_id: MemoryId,
        ctx: Context,
        agent_id: AgentId = None,
        run_id: RunId = None,
    ) -> dict[str, Any]:
        """How one memory changed over time: ADD, UPDATE (old → new text), DELETE, oldest
        first. Works for deleted memories too (give the agent_id / run_id the memory was
        stored with, if any)."""
        with tool_errors("memory_history"):
            scope = scope_for(ctx, agent_id, run_id)
            entries = owned_history(memory, memory_id, base_scope(ctx), scope)
            return {"memory_id": memory_id, "history": [history_dict(e) for e in entries]}

    @mcp.resource("memory://{memory_id}", name="memory", mime_type="application/json",
                  description="One memory of this session's user, by id (JSON).")
    def memory_resource(memory_id: str, ctx: Context) -> str:
        import json

        try:
            item = memory.get(memory_id, **base_scope(ctx))
        except ToolError as exc:
            raise ResourceError(str(exc)) from None
        except MemstackError as exc:
            raise ResourceError(str(exc)) from None
        if item is None:
            raise ResourceNotFoundError(f"no memory with id {memory_id!r} in your scope")
        return json.dumps(compact(item), ensure_ascii=False)

    return mcp


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 12:
        raise ToolError(f"cursor {cursor[:40]!r} is not one this server gave; pass the "
                        "next_cursor of the previous list_memories page, or leave it out")
    return int(cursor)


def owned_history(memory: memstack.Memory, memory_id: str, base: Mapping[str, str],
                  scope: Mapping[str, str]) -> list[HistoryEntry]:
    """The history of a memory the caller owns, else `MemoryNotFound`.

    The history store keeps no scope, so ownership is proven by the store (a live memory in
    the caller's base scope) or, for a deleted memory, by its id: ids derive from the exact
    scope and the first text's hash, so only the owner's scope reproduces it."""
    if memory.get(memory_id, **base) is not None:
        return memory.history(memory_id)
    entries = memory.history(memory_id)
    first = next((e for e in entries if e.event == "ADD" and e.new_hash), None)
    if first is not None:
        for candidate in (dict(scope), dict(base)):
            if derived_id(Scope(**candidate), first.new_hash or "") == memory_id:
                return entries
    raise MemoryNotFound(f"no memory with id {memory_id!r} in your scope")
