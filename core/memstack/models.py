"""Typed data that crosses the boundary between the engine, the providers and the user.

One record model in and one hit model out for every vector store; one memory model, one event
model and one history model for every user of `Memory`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Payload = dict[str, Any]
# The fields that make a scope, in this order everywhere (ids, filters, partitions, CLI flags).
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
EventType = Literal["ADD", "UPDATE", "DELETE", "NONE"]


class Record(BaseModel):
    """A vector with its id and flat payload, as written to (and read back from) a vector store."""

    model_config = ConfigDict(frozen=False)

    id: str
    vector: list[float] | None = None
    payload: Payload = Field(default_factory=dict)


class Hit(BaseModel):
    """One query result. `score` is a cosine similarity: higher is better, on every backend."""

    id: str
    score: float
    payload: Payload = Field(default_factory=dict)


class HybridHits(BaseModel):
    """Both candidate lists of one hybrid search, read by the store together (`hybrid_query`).

    `vector` is what `query` returns (nearest first, score = cosine similarity); `keyword` what
    `keyword_query` returns (best first, score = the keyword score); `similarity` holds the
    cosine similarity of every keyword hit's stored vector, so the engine fuses the two lists
    without reading anything back.
    """

    vector: list[Hit] = Field(default_factory=list)
    keyword: list[Hit] = Field(default_factory=list)
    similarity: dict[str, float] = Field(default_factory=dict)


class ChatMessage(BaseModel):
    """A chat message as LLM APIs know it."""

    role: Literal["system", "user", "assistant", "tool"] = "user"
    content: str
    name: str | None = None
    # When it was said (ISO 8601 text after validation); becomes the memory's `said_at`.
    timestamp: str | datetime | None = None
    # Image parts as given (OpenAI / Anthropic shapes), for an LLM with 'vision' to describe.
    images: list[dict[str, Any]] = Field(default_factory=list)


class Scope(BaseModel):
    """Who a memory belongs to. At least one id is set; each is a plain string."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    def as_filter(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class MemoryItem(BaseModel):
    """A stored memory as the user sees it (`score` is set on search results)."""

    id: str
    memory: str
    hash: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    actor_id: str | None = None
    role: str | None = None
    metadata: Payload = Field(default_factory=dict)
    created_at: str
    updated_at: str | None = None
    score: float | None = None
    rerank_score: float | None = None
    # Time (see `memstack.timeline`): when it was said, when it held, when it expires.
    said_at: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None  # None while current
    expires_at: str | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    # search(..., explain=True): the scores and the reasons it passed the filters.
    explanation: dict[str, Any] | None = None


class MemoryEvent(BaseModel):
    """What one `add`/`update`/`delete` did to one memory."""

    id: str
    event: EventType
    memory: str
    previous_memory: str | None = None
    supersedes: str | None = None  # the id of the version this one replaced, kept as past


class AddResult(BaseModel):
    """The events of one `add`; `inferred` says whether an LLM extracted facts."""

    results: list[MemoryEvent]
    inferred: bool


class SearchResult(BaseModel):
    """Memories ranked by relevance, best first."""

    results: list[MemoryItem]


class MemoryList(BaseModel):
    """Memories listed by `get_all`."""

    results: list[MemoryItem]


class HistoryEntry(BaseModel):
    """One change to one memory. `committed` is False while the change is in flight."""

    entry_id: str
    memory_id: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old_memory: str | None = None
    new_memory: str | None = None
    old_hash: str | None = None
    new_hash: str | None = None
    actor_id: str | None = None
    role: str | None = None
    created_at: str
    writer: str = ""
    committed: bool = True
