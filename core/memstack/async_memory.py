"""`AsyncMemory`: the same engine for asyncio code, without blocking the event loop.

Each call runs the synchronous engine in a worker thread. Providers that offer awaitable
methods (`aembed`, `achat`, `arerank`) are awaited on the caller's event loop instead of being
run in that thread, so an async HTTP client stays on its own loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
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


class _OnLoop:
    """Wraps a provider so its async method runs on `loop` when called from a worker thread."""

    def __init__(self, provider: Any, sync_name: str, async_name: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._provider = provider
        self._async = getattr(provider, async_name)
        self._loop = loop
        self._sync_name = sync_name

    def __getattr__(self, name: str) -> Any:
        if name == self._sync_name:
            return self._call
        return getattr(self._provider, name)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._async(*args, **kwargs), self._loop)
        return future.result()


_ASYNC_METHODS = {"embedder": ("embed", "aembed"), "llm": ("chat", "achat"),
                  "reranker": ("rerank", "arerank")}


class AsyncMemory:
    """`await memory.add(...)`, `await memory.search(...)`: the `Memory` API, awaitable."""

    def __init__(self, config: ConfigSource = None, **providers: Any) -> None:
        self._sync = Memory(config, **providers)
        self._wrapped = False

    @classmethod
    async def create(cls, config: ConfigSource = None, **providers: Any) -> AsyncMemory:
        """Build without blocking the loop (loading a model can take seconds)."""
        return await asyncio.to_thread(cls, config, **providers)

    @property
    def sync(self) -> Memory:
        """The underlying synchronous engine."""
        return self._sync

    def _bind_loop(self) -> None:
        if self._wrapped:
            return
        loop = asyncio.get_running_loop()
        for attr, (sync_name, async_name) in _ASYNC_METHODS.items():
            provider = getattr(self._sync, attr)
            if provider is not None and callable(getattr(provider, async_name, None)):
                setattr(self._sync, attr, _OnLoop(provider, sync_name, async_name, loop))
        self._wrapped = True

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._bind_loop()
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    def add(self, messages: Any, **kwargs: Any) -> Awaitable[AddResult]:
        return self._run(self._sync.add, messages, **kwargs)

    def search(self, query: str, **kwargs: Any) -> Awaitable[SearchResult]:
        return self._run(self._sync.search, query, **kwargs)

    def get(self, memory_id: str) -> Awaitable[MemoryItem | None]:
        return self._run(self._sync.get, memory_id)

    def get_all(self, **kwargs: Any) -> Awaitable[MemoryList]:
        return self._run(self._sync.get_all, **kwargs)

    def update(self, memory_id: str, text: str, **kwargs: Any) -> Awaitable[MemoryEvent]:
        return self._run(self._sync.update, memory_id, text, **kwargs)

    def delete(self, memory_id: str, **kwargs: Any) -> Awaitable[MemoryEvent]:
        return self._run(self._sync.delete, memory_id, **kwargs)

    def delete_all(self, **kwargs: Any) -> Awaitable[list[MemoryEvent]]:
        return self._run(self._sync.delete_all, **kwargs)

    def history(self, memory_id: str) -> Awaitable[list[HistoryEntry]]:
        return self._run(self._sync.history, memory_id)

    def reset(self) -> Awaitable[None]:
        return self._run(self._sync.reset)

    async def close(self) -> None:
        await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
