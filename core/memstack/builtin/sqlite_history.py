"""`sqlite`: the default history store — one row per change, WAL mode, two-phase writes.

Rows are written as pending (`committed = 0`) before the vector store changes and marked
committed after, so a crash leaves evidence the engine can reconcile on the next open.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import Field

from memstack.errors import StoreError
from memstack.models import HistoryEntry
from memstack.paths import data_home
from memstack.spec import ProviderConfig

SCHEMA_VERSION = 1
_COLUMNS = (
    "entry_id, memory_id, event, old_memory, new_memory, old_hash, new_hash, actor_id, role, "
    "created_at, writer, committed"
)


class SQLiteHistoryConfig(ProviderConfig):
    path: str = Field(
        default_factory=lambda: str(data_home() / "history.db"),
        description="SQLite file; ':memory:' keeps history in this process only.",
    )


class SQLiteHistoryStore:
    name = "sqlite"
    capabilities = frozenset({"persistent", "multiprocess"})

    def __init__(self, config: SQLiteHistoryConfig) -> None:
        self.path = config.path
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._lock_fd: int | None = None
        if self.path != ":memory:":
            self._lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(self.name, f"cannot open history at {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        """Create or upgrade the schema; `PRAGMA user_version` records where we are."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version < 1:
            self._db.executescript(
                """
                BEGIN;
                CREATE TABLE IF NOT EXISTS history (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    entry_id TEXT NOT NULL UNIQUE,
                    memory_id TEXT NOT NULL,
                    event TEXT NOT NULL,
                    old_memory TEXT, new_memory TEXT, old_hash TEXT, new_hash TEXT,
                    actor_id TEXT, role TEXT,
                    created_at TEXT NOT NULL,
                    writer TEXT NOT NULL DEFAULT '',
                    committed INTEGER NOT NULL DEFAULT 1
                );
                CREATE INDEX IF NOT EXISTS history_memory ON history(memory_id, seq);
                CREATE INDEX IF NOT EXISTS history_pending
                    ON history(committed) WHERE committed = 0;
                PRAGMA user_version = 1;
                COMMIT;
                """
            )

    def _run(self, fn):  # type: ignore[no-untyped-def]
        with self._lock:
            try:
                return fn(self._db)
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(self.name, str(exc)) from exc

    def begin(self, entries: Sequence[HistoryEntry]) -> None:
        rows = [
            (e.entry_id, e.memory_id, e.event, e.old_memory, e.new_memory, e.old_hash, e.new_hash,
             e.actor_id, e.role, e.created_at, e.writer, 0)
            for e in entries
        ]

        def go(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(f"INSERT INTO history ({_COLUMNS}) VALUES ({','.join('?' * 12)})", rows)
            db.execute("COMMIT")

        self._run(go)

    def _settle(self, sql: str, entry_ids: Sequence[str]) -> None:
        def go(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(sql, [(i,) for i in entry_ids])
            db.execute("COMMIT")

        self._run(go)

    def commit(self, entry_ids: Sequence[str]) -> None:
        self._settle("UPDATE history SET committed = 1 WHERE entry_id = ?", entry_ids)

    def discard(self, entry_ids: Sequence[str]) -> None:
        self._settle("DELETE FROM history WHERE entry_id = ? AND committed = 0", entry_ids)

    def _select(self, where: str, args: tuple) -> list[HistoryEntry]:
        cur = self._run(lambda db: db.execute(
            f"SELECT {_COLUMNS} FROM history WHERE {where} ORDER BY seq", args).fetchall())
        keys = [c.strip() for c in _COLUMNS.split(",")]
        return [HistoryEntry(**{**dict(zip(keys, row, strict=True)), "committed": bool(row[-1])})
                for row in cur]

    def pending(self) -> list[HistoryEntry]:
        return self._select("committed = 0", ())

    def history(self, memory_id: str) -> list[HistoryEntry]:
        return self._select("memory_id = ? AND committed = 1", (memory_id,))

    def memory_ids(self) -> list[str]:
        rows = self._run(lambda db: db.execute(
            "SELECT DISTINCT memory_id FROM history WHERE committed = 1").fetchall())
        return [r[0] for r in rows]

    def reset(self) -> None:
        self._run(lambda db: db.execute("DELETE FROM history"))

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclude other processes using this history file while a write is checked and applied."""
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
