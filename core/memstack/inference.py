"""Asking the LLM: which facts a conversation holds, and what to do with them.

Output is validated against a pydantic model; invalid output gets one retry that tells the
model what was wrong, then `LLMOutputError` carrying the raw text. Nothing is written here —
the engine applies decisions only after they are all valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from memstack.errors import LLMOutputError
from memstack.json_schema import strip_fences
from memstack.models import ChatMessage
from memstack.protocols import LLM

T = TypeVar("T", bound=BaseModel)
Check = Callable[[Any], list[str]]


class Facts(BaseModel):
    facts: list[str]


class Decision(BaseModel):
    id: str
    text: str = ""
    event: Literal["ADD", "UPDATE", "DELETE", "NONE"]
    old_memory: str | None = None


class Decisions(BaseModel):
    memory: list[Decision]


def _parse(raw: str, model: type[T]) -> T:
    return model.model_validate(json.loads(strip_fences(raw)))


def _attempt(raw: str, model: type[T], check: Check | None) -> T:
    parsed = _parse(raw, model)
    problems = check(parsed) if check else []
    if problems:
        raise ValueError("; ".join(problems))
    return parsed


def ask_json(llm: LLM, messages: list[ChatMessage], model: type[T], what: str,
                           check: Check | None = None) -> T:
    """One call, one retry on invalid output, then a clear error with the raw output."""
    schema = model.model_json_schema()
    raw = llm.chat(messages, response_schema=schema, schema_name=model.__name__.lower())
    try:
        return _attempt(raw, model, check)
    except (ValueError, ValidationError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    retry = [
        *messages,
        ChatMessage(role="assistant", content=raw),
        ChatMessage(role="user", content=(
            f"That answer was not valid: {problem}. Reply again with JSON only, matching "
            f"this schema: {json.dumps(schema)}")),
    ]
    raw2 = llm.chat(retry, response_schema=schema, schema_name=model.__name__.lower())
    try:
        return _attempt(raw2, model, check)
    except (ValueError, ValidationError) as exc:
        raise LLMOutputError(
            f"the LLM's {what} answer was invalid twice ({str(exc).splitlines()[0]}); nothing "
            "was written", raw_output=raw2) from None


def conversation_text(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(f"{m.role}: {m.content}" for m in messages if m.role != "system")


def extract_facts(llm: LLM, messages: Sequence[ChatMessage], prompt: str) -> list[str]:
    request = [ChatMessage(role="system", content=prompt),
               ChatMessage(role="user", content=conversation_text(messages))]
    facts = ask_json(llm, request, Facts, "fact extraction").facts
    return [f.strip() for f in facts if f and f.strip()]


def decide(llm: LLM, existing: dict[str, str], facts: Sequence[str], prompt: str) -> list[Decision]:
    """`existing` maps short integer ids (as strings) to memory texts."""
    body = {"existing_memories": [{"id": k, "text": v} for k, v in existing.items()],
            "new_facts": list(facts)}
    request = [ChatMessage(role="system", content=prompt),
               ChatMessage(role="user", content=json.dumps(body, ensure_ascii=False))]

    def check(parsed: Decisions) -> list[str]:
        problems = []
        for d in parsed.memory:
            if d.event in ("UPDATE", "DELETE") and d.id not in existing:
                problems.append(f"{d.event} names id {d.id!r}, which is not one of the given ids")
            if d.event in ("ADD", "UPDATE") and not d.text.strip():
                problems.append(f"{d.event} for id {d.id!r} has no text")
        return problems

    return ask_json(llm, request, Decisions, "memory update", check).memory
