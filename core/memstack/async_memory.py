"""`AsyncMemory`: the same engine for asyncio code, without blocking the event loop.

Each call runs the synchronous engine in a worker thread (providers are synchronous; none
offers awaitable methods), so a slow embedder or store never stalls the caller's loop. Every
method takes exactly the arguments of its `Memory` counterpart, scope included.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from memstack.memory import ConfigSource, Memory
from memstack.models import (
    AddResult,
    HistoryEntry,
    MemoryEvent,
    MemoryItem,
    MemoryList,
    SearchResult,
)
from memstack.timeline import TimeInput


class AsyncMemory:
    """`await memory.add(...)`, `await memory.search(...)`: the `Memory` API, awaitable."""

    def __init__(self, config: ConfigSource = None, **providers: Any) -> None:
        self._sync = Memory(config, **providers)

    @classmethod
    async def create(cls, config: ConfigSource = None, **providers: Any) -> AsyncMemory:
        """Build without blocking the loop (loading a model can take seconds)."""
        return await asyncio.to_thread(cls, config, **providers)

    @classmethod
    async def from_config(cls, config: ConfigSource) -> AsyncMemory:
        """`Memory.from_config`, awaitable (same as `create`)."""
        return await cls.create(config)

    @property
    def sync(self) -> Memory:
        """The underlying synchronous engine."""
        return self._sync

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    async def add(self, messages: Any, *, user_id: str | None = None,
                  agent_id: str | None = None, run_id: str | None = None,
                  metadata: dict[str, Any] | None = None, infer: bool | None = None,
                  actor_id: str | None = None, progress: bool = False,
                  timestamp: TimeInput = None, expires_at: TimeInput = None) -> AddResult:
        return await self._run(self._sync.add, messages, user_id=user_id, agent_id=agent_id,
                               run_id=run_id, metadata=metadata, infer=infer,
                               actor_id=actor_id, progress=progress, timestamp=timestamp,
                               expires_at=expires_at)

    async def search(self, query: str, *, user_id: str | None = None,
                     agent_id: str | None = None, run_id: str | None = None,
                     filters: dict[str, Any] | None = None, limit: int = 10,
                     threshold: float | None = None, rerank: bool | None = None,
                     as_of: TimeInput = None, include_superseded: bool = False,
                     include_expired: bool = False, explain: bool = False) -> SearchResult:
        return await self._run(self._sync.search, query, user_id=user_id, agent_id=agent_id,
                               run_id=run_id, filters=filters, limit=limit,
                               threshold=threshold, rerank=rerank, as_of=as_of,
                               include_superseded=include_superseded,
                               include_expired=include_expired, explain=explain)

    async def get(self, memory_id: str, *, user_id: str | None = None,
                  agent_id: str | None = None, run_id: str | None = None) -> MemoryItem | None:
        return await self._run(self._sync.get, memory_id, user_id=user_id, agent_id=agent_id,
                               run_id=run_id)

    async def get_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                      run_id: str | None = None, filters: dict[str, Any] | None = None,
                      limit: int = 100, offset: int = 0, as_of: TimeInput = None,
                      include_superseded: bool = False,
                      include_expired: bool = False) -> MemoryList:
        return await self._run(self._sync.get_all, user_id=user_id, agent_id=agent_id,
                               run_id=run_id, filters=filters, limit=limit, offset=offset,
                               as_of=as_of, include_superseded=include_superseded,
                               include_expired=include_expired)

    async def update(self, memory_id: str, text: str, *, metadata: dict[str, Any] | None = None,
                     actor_id: str | None = None, user_id: str | None = None,
                     agent_id: str | None = None, run_id: str | None = None,
                     supersede: bool = False, timestamp: TimeInput = None) -> MemoryEvent:
        return await self._run(self._sync.update, memory_id, text, metadata=metadata,
                               actor_id=actor_id, user_id=user_id, agent_id=agent_id,
                               run_id=run_id, supersede=supersede, timestamp=timestamp)

    async def delete(self, memory_id: str, *, actor_id: str | None = None,
                     user_id: str | None = None, agent_id: str | None = None,
                     run_id: str | None = None) -> MemoryEvent:
        return await self._run(self._sync.delete, memory_id, actor_id=actor_id,
                               user_id=user_id, agent_id=agent_id, run_id=run_id)

    async def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                         run_id: str | None = None, actor_id: str | None = None
                         ) -> list[MemoryEvent]:
        return await self._run(self._sync.delete_all, user_id=user_id, agent_id=agent_id,
                               run_id=run_id, actor_id=actor_id)

    async def history(self, memory_id: str, *, user_id: str | None = None,
                      agent_id: str | None = None, run_id: str | None = None
                      ) -> list[HistoryEntry]:
        return await self._run(self._sync.history, memory_id, user_id=user_id,
                               agent_id=agent_id, run_id=run_id)

    async def prune(self) -> list[MemoryEvent]:
        return await self._run(self._sync.prune)

    async def reset(self) -> None:
        await self._run(self._sync.reset)

    async def close(self) -> None:
        await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
