"""`postgres`: the history store in one Postgres table, shared by every application server.

Same two-phase protocol as the core's SQLite store: rows are written pending (`committed =
false`) before the vector store changes and marked committed after; `pending()` shows what a
crashed writer left behind. The schema is created or upgraded when the store opens, under an
advisory lock, and its version is kept in `memstack_schema_versions`.

Imported only when the provider is built: it imports psycopg.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from memstack.errors import StoreError
from memstack.models import HistoryEntry
from memstack_pgvector.capabilities import HISTORY_CAPABILITIES
from memstack_pgvector.config import PostgresHistoryConfig
from memstack_pgvector.connection import SETUP_LOCK_KEY, Connector

NAME = "postgres"
SCHEMA_VERSION = 1
_FIELDS = (
    "entry_id", "memory_id", "event", "old_memory", "new_memory", "old_hash", "new_hash",
    "actor_id", "role", "created_at", "writer", "committed",
)
VERSIONS_TABLE = "memstack_schema_versions"
T = TypeVar("T")


class PostgresHistoryStore:
    name = NAME
    capabilities = HISTORY_CAPABILITIES

    def __init__(self, config: PostgresHistoryConfig) -> None:
        self.config = config
        self.schema = config.db_schema
        self.table_name = config.table
        self._table = sql.Identifier(self.schema, self.table_name)
        self._connector = Connector(NAME, config)
        with self._connector.connect() as conn:
            self._migrate(conn)
        self._pool = self._connector.pool(lambda conn: None)
        self._closed = False
        # lock(): a session-level advisory lock, held on a connection of its own (not a pooled
        # one, so the writes made while holding it can never starve for connections).
        digest = hashlib.blake2b(f"memstack-history:{self.schema}.{self.table_name}".encode(),
                                 digest_size=8).digest()
        self._lock_key = int.from_bytes(digest, "big", signed=True)
        self._lock_conn: psycopg.Connection[Any] | None = None
        self._lock_guard = threading.Lock()
        cols = sql.SQL(", ").join(map(sql.Identifier, _FIELDS))
        self._insert = sql.SQL("INSERT INTO {t} ({cols}) VALUES ({ph})").format(
            t=self._table, cols=cols, ph=sql.SQL(", ").join(sql.Placeholder() * len(_FIELDS)))
        self._select_sql = sql.SQL("SELECT {cols} FROM {t} WHERE ").format(cols=cols, t=self._table)

    def __repr__(self) -> str:
        return f"PostgresHistoryStore(table={self.schema}.{self.table_name}, " \
               f"{self._connector.target()})"

    # --- schema --------------------------------------------------------------------------------
    def _version(self, conn: psycopg.Connection[Any]) -> int:
        """Schema version of our table; 0 when nothing exists yet. Needs no CREATE rights."""
        exists = conn.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s",
            [self.schema, VERSIONS_TABLE],
        ).fetchone()
        if not exists:
            return 0
        row = conn.execute(
            sql.SQL("SELECT version FROM {v} WHERE name = %s").format(
                v=sql.Identifier(self.schema, VERSIONS_TABLE)),
            [self.table_name],
        ).fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        """Create or upgrade the schema; one process at a time (advisory lock).

        An up-to-date schema is only read, so an application role without CREATE rights can
        open a history table that a migration role created.
        """
        with self._connector.errors(f"opening history {self.schema}.{self.table_name}"), \
                conn.transaction():
            version = self._version(conn)
            if version == SCHEMA_VERSION:
                return
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [SETUP_LOCK_KEY])
            version = self._version(conn)  # another process may have migrated meanwhile
            if version > SCHEMA_VERSION:
                raise StoreError(NAME, f"history table {self.schema}.{self.table_name} has schema "
                                 f"version {version}, newer than this memstack-pgvector "
                                 f"supports ({SCHEMA_VERSION})", hint="upgrade memstack-pgvector")
            if version == SCHEMA_VERSION:
                return
            if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                [self.schema]).fetchone():
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(self.schema)))
            versions = sql.Identifier(self.schema, VERSIONS_TABLE)
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {v} (name text PRIMARY KEY, version integer NOT NULL)"
            ).format(v=versions))
            if version < 1:
                self._create_v1(conn)
            conn.execute(sql.SQL(
                "INSERT INTO {v} (name, version) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version"
            ).format(v=versions), [self.table_name, SCHEMA_VERSION])

    def _create_v1(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL(
            """
            CREATE TABLE IF NOT EXISTS {t} (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                entry_id text NOT NULL UNIQUE,
                memory_id text NOT NULL,
                event text NOT NULL,
                old_memory text, new_memory text, old_hash text, new_hash text,
                actor_id text, role text,
                created_at text NOT NULL,
                writer text NOT NULL DEFAULT '',
                committed boolean NOT NULL DEFAULT false
            )
            """
        ).format(t=self._table))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (memory_id, seq)").format(
            i=sql.Identifier(self.table_name + "_mem"), t=self._table))
        conn.execute(sql.SQL(
            "CREATE INDEX IF NOT EXISTS {i} ON {t} (seq) WHERE NOT committed"
        ).format(i=sql.Identifier(self.table_name + "_pend"), t=self._table))

    # --- helpers -------------------------------------------------------------------------------
    def _run(self, action: str, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        if self._closed:
            raise StoreError(NAME, "history store is closed")
        return self._connector.run(self._pool, action, fn)

    def _rows(self, where: str, params: Sequence[Any], action: str) -> list[HistoryEntry]:
        query = self._select_sql + sql.SQL(where + " ORDER BY seq")
        rows = self._run(action, lambda conn: conn.execute(query, params).fetchall())
        return [HistoryEntry(**dict(zip(_FIELDS, row, strict=True))) for row in rows]

    def _write(self, query: sql.Composable, params: Sequence[Sequence[Any]], action: str) -> None:
        if not params:
            return

        def write(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(query, params)

        self._run(action, write)

    # --- HistoryStore --------------------------------------------------------------------------
    def begin(self, entries: Sequence[HistoryEntry]) -> None:
        rows = [
            (e.entry_id, e.memory_id, e.event, e.old_memory, e.new_memory, e.old_hash,
             e.new_hash, e.actor_id, e.role, e.created_at, e.writer, False)
            for e in entries
        ]
        self._write(self._insert, rows, "begin")

    def commit(self, entry_ids: Sequence[str]) -> None:
        query = sql.SQL("UPDATE {t} SET committed = true WHERE entry_id = ANY(%s)").format(
            t=self._table)
        self._write(query, [[list(entry_ids)]] if entry_ids else [], "commit")

    def discard(self, entry_ids: Sequence[str]) -> None:
        query = sql.SQL("DELETE FROM {t} WHERE entry_id = ANY(%s) AND NOT committed").format(
            t=self._table)
        self._write(query, [[list(entry_ids)]] if entry_ids else [], "discard")

    def pending(self) -> list[HistoryEntry]:
        return self._rows("NOT committed", [], "pending")

    def history(self, memory_id: str) -> list[HistoryEntry]:
        return self._rows("memory_id = %s AND committed", [memory_id], "history")

    def memory_ids(self) -> list[str]:
        query = sql.SQL(
            "SELECT memory_id FROM {t} WHERE committed GROUP BY memory_id ORDER BY min(seq)"
        ).format(t=self._table)
        rows = self._run("memory_ids", lambda conn: conn.execute(query).fetchall())
        return [r[0] for r in rows]

    def reset(self) -> None:
        query = sql.SQL("TRUNCATE {t}").format(t=self._table)
        self._run("reset", lambda conn: conn.execute(query))

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclude every other process sharing this history while a write is checked and applied.

        The engine wraps each read-check-write in this, so two application servers never both
        decide to add the same fact or lose each other's update.
        """
        with self._lock_guard:
            if self._closed:
                raise StoreError(NAME, "history store is closed")
            conn = self._acquire()
            try:
                yield
            finally:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [self._lock_key])
                except psycopg.Error:
                    # The session is gone or unusable; the server drops its locks with it.
                    self._drop_lock_conn()

    def _acquire(self) -> psycopg.Connection[Any]:
        with self._connector.errors("lock"):
            for attempt in (1, 2):
                if self._lock_conn is None or self._lock_conn.closed:
                    self._lock_conn = self._connector.connect()
                try:
                    self._lock_conn.execute("SELECT pg_advisory_lock(%s)", [self._lock_key])
                    return self._lock_conn
                except psycopg.OperationalError:
                    broken = self._lock_conn.broken
                    self._drop_lock_conn()
                    if attempt == 2 or not broken:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop_lock_conn(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        with self._lock_guard:
            if not self._closed:
                self._closed = True
                self._drop_lock_conn()
                self._pool.close()
