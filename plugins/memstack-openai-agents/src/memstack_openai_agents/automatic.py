"""Memory without tool calls: recall into the instructions, remember what the user says.

- `memstack_recall_filter` is a `RunConfig.call_model_input_filter`: before each model call it
  searches memstack with the latest user message and appends the relevant memories to the
  agent's instructions — the model sees them without spending a tool call.
- `RememberingSession` wraps any SDK `Session` (say `SQLiteSession`): history is kept by the
  wrapped session as before, and each new user message is also sent to `Memory.add` — facts
  extracted by memstack's LLM when one is configured, else the message as said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.run_config import CallModelData, ModelInputData

from memstack_openai_agents.scope import call, fixed_scope, resolve_scope

RECALL_HEADER = "Relevant memories about the user (from earlier conversations):"


def item_text(item: Any) -> str:
    """The text of a user message input item (str content or input_text parts), else ''."""
    if not isinstance(item, Mapping) or item.get("role") != "user":
        return ""
    if item.get("type", "message") != "message":
        return ""
    content = item.get("content")
    if isinstance(content, str):
        return content.strip()
    parts = [p.get("text", "") for p in content or () if isinstance(p, Mapping)
             and p.get("type") == "input_text"]
    return "\n".join(p for p in parts if p).strip()


def memstack_recall_filter(
    memory: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    top_k: int = 5,
    threshold: float | None = None,
    header: str = RECALL_HEADER,
) -> Any:
    """A `call_model_input_filter` adding the `top_k` memories relevant to the latest user
    message to the instructions. Scope: the ids given, else those on the run context."""
    fixed = fixed_scope(user_id, agent_id, run_id)

    async def recall_into_instructions(data: CallModelData[Any]) -> ModelInputData:
        model_data = data.model_data
        query = next((t for t in map(item_text, reversed(model_data.input)) if t), "")
        if not query:
            return model_data
        scope = resolve_scope(fixed, data.context)
        result = await call(memory, "search", query, limit=top_k, threshold=threshold, **scope)
        lines = [f"- {item.memory}" for item in result.results if item.memory.strip() != query]
        if not lines:
            return model_data
        block = header + "\n" + "\n".join(lines)
        instructions = f"{model_data.instructions}\n\n{block}" if model_data.instructions \
            else block
        return ModelInputData(input=model_data.input, instructions=instructions)

    return recall_into_instructions


class RememberingSession:
    """An SDK `Session` that keeps history in `session` and remembers user messages in memstack.

    The scope is fixed when the session is built (a session belongs to one user); the session's
    id is stored as memory metadata `session_id`.
    """

    def __init__(self, session: Any, memory: Any, *, user_id: str | None = None,
                 agent_id: str | None = None, run_id: str | None = None,
                 infer: bool | None = None) -> None:
        self.scope = resolve_scope(fixed_scope(user_id, agent_id, run_id), None)
        self.inner = session
        self.memory = memory
        self.infer = infer
        self.session_id: str = session.session_id
        self.session_settings = getattr(session, "session_settings", None)

    async def get_items(self, limit: int | None = None) -> list[Any]:
        return list(await self.inner.get_items(limit))

    async def add_items(self, items: list[Any]) -> None:
        await self.inner.add_items(items)
        texts = [t for t in map(item_text, items) if t]
        if texts:
            await call(self.memory, "add", [{"role": "user", "content": t} for t in texts],
                       infer=self.infer, metadata={"session_id": str(self.session_id)},
                       **self.scope)

    async def pop_item(self) -> Any:
        return await self.inner.pop_item()

    async def clear_session(self) -> None:
        """Clears the conversation history; long-term memories stay (delete them in memstack)."""
        await self.inner.clear_session()
