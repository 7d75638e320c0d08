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
