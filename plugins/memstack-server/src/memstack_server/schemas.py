"""Request and response bodies of the /v1 API. Unknown fields are refused (422 naming them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from memstack.models import HistoryEntry, MemoryEvent, MemoryItem

ScopeId = Field(default=None, min_length=1, max_length=256)
Text = Annotated[str, Field(min_length=1)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"] = "user"
    content: str = Field(min_length=1)
    name: str | None = None


class AddRequest(BaseModel):
    """Remember something: a string, one chat message, or a list of either."""

    model_config = ConfigDict(extra="forbid")

    messages: Text | Message | Annotated[list[Text | Message], Field(min_length=1)] = Field(
        description="a string, a chat message {role, content} or a non-empty list of them")
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    metadata: dict[str, Any] | None = None
    infer: bool | None = Field(default=None, description="extract facts with the LLM "
                               "(default: when one is configured)")
    actor_id: str | None = Field(default=None, min_length=1, max_length=256)


class AddResponse(BaseModel):
    results: list[MemoryEvent]
    inferred: bool


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1)
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    filters: dict[str, Any] | None = Field(default=None, description="memstack filter language")
    limit: int = Field(default=10, ge=1, le=1000)
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    rerank: bool | None = None


class SearchResponse(BaseModel):
    results: list[MemoryItem]


class MemoryPage(BaseModel):
    results: list[MemoryItem]
    next: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class UpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    metadata: dict[str, Any] | None = None


class DeleteScopeResponse(BaseModel):
    deleted: int
    results: list[MemoryEvent]


class HistoryResponse(BaseModel):
    results: list[HistoryEntry]


class ImportResponse(BaseModel):
    memories: int
    added: int
    updated: int
    unchanged: int
    history_added: int
    reembedded: int


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]
