"""`memstack_tools`: function tools an Agents SDK agent calls to remember, recall and forget.

Each tool is scoped per user (see `scope.py`). Mistakes the model can fix — an empty fact, an
unknown memory id — come back to it as the tool's result; everything else (no scope, a backend
down) fails the run, so it is never hidden behind a polite tool answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agents import FunctionTool, RunContextWrapper, function_tool

from memstack.errors import FilterError, InvalidInput, MemoryNotFound, ScopeError
from memstack_openai_agents.scope import call, fixed_scope, resolve_scope

# What the model may see and correct; ScopeError is the application's, so it is raised.
MODEL_ERRORS = (InvalidInput, MemoryNotFound, FilterError)


def _model_error(exc: Exception) -> str | None:
    if isinstance(exc, MODEL_ERRORS) and not isinstance(exc, ScopeError):
        return f"error: {exc}"
    return None


def _guarded(fn: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[str]]:
    async def run(*args: Any, **kwargs: Any) -> str:
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            message = _model_error(exc)
            if message is None:
                raise
            return message

    run.__name__, run.__doc__ = fn.__name__, fn.__doc__
    run.__annotations__ = fn.__annotations__
    run.__wrapped__ = fn  # type: ignore[attr-defined]
    return run


def memstack_tools(
    memory: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    infer: bool | None = None,
    top_k: int = 5,
    forget: bool = True,
    metadata: dict[str, Any] | None = None,
) -> list[FunctionTool]:
    """`remember`, `recall` and (unless `forget=False`) `forget` tools on a memstack memory.

    `memory` is a `memstack.Memory` or `memstack.AsyncMemory`. Scope: the ids given here, or —
    when none are — the ids on the run context (`MemstackContext` or any object / dict with
    `user_id`, `agent_id`, `run_id`). `infer`: passed to `Memory.add` (None: extract facts when
    memstack has an LLM). `top_k`: how many memories `recall` returns at most.
    """
    fixed = fixed_scope(user_id, agent_id, run_id)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise InvalidInput(f"top_k must be a positive integer, got {top_k!r}")

    async def remember(ctx: RunContextWrapper[Any], fact: str) -> str:
        """Store a fact about the user to use in future conversations.

        Args:
            fact: One self-contained fact, e.g. "Alice's favourite colour is teal".
        """
        scope = resolve_scope(fixed, ctx.context)
        result = await call(memory, "add", [{"role": "user", "content": fact}], infer=infer,
                            metadata=metadata, **scope)
        done = [f"{e.event} {e.id}: {e.memory}" for e in result.results if e.event != "NONE"]
        return "\n".join(done) if done else "nothing new to remember"

    async def recall(ctx: RunContextWrapper[Any], query: str) -> str:
        """Look up stored facts about the user that are relevant to a question.

        Args:
            query: What to look for, in natural language, e.g. "favourite colour".
        """
        scope = resolve_scope(fixed, ctx.context)
        result = await call(memory, "search", query, limit=top_k, **scope)
        lines = [f"{item.id}: {item.memory}" for item in result.results]
        return "\n".join(lines) if lines else "no memories found"

    async def forget_memory(ctx: RunContextWrapper[Any], memory_id: str) -> str:
        """Delete one stored fact about the user, by the id `recall` showed.

        Args:
            memory_id: The id of the memory to delete.
        """
        scope = resolve_scope(fixed, ctx.context)
        event = await call(memory, "delete", memory_id, **scope)
        return f"DELETE {event.id}: {event.memory}"

    tools = [function_tool(_guarded(remember), name_override="remember",
                           failure_error_function=None),
             function_tool(_guarded(recall), name_override="recall",
                           failure_error_function=None)]
    if forget:
        tools.append(function_tool(_guarded(forget_memory), name_override="forget",
                                   failure_error_function=None))
    return tools
