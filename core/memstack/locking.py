"""The engine's write lock: threads of this process, and other processes sharing the data.

A read-check-write (is this text stored? what is the old text?) must not interleave with
another writer's, or an update is lost. Threads are serialised by an RLock; other processes by
the history store's optional `lock()` (a file lock for SQLite, an advisory lock for PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any


class WriteLock:
    def __init__(self, process_lock: Callable[[], AbstractContextManager[Any]] | None) -> None:
        self._rlock = threading.RLock()
        self._process_lock = process_lock
        self._depth = 0
        self._held: AbstractContextManager[Any] | None = None

    def __enter__(self) -> WriteLock:
        self._rlock.acquire()
        self._depth += 1
        if self._depth == 1 and self._process_lock is not None:
            try:
                self._held = self._process_lock()
                self._held.__enter__()
            except BaseException:
                self._depth -= 1
                self._rlock.release()
                raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._held is not None:
                held, self._held = self._held, None
                held.__exit__(*exc)
        finally:
            self._rlock.release()
