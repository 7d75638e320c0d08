"""API keys: created once, stored as a hash in the history store's own database.

Keys live next to the history (the SQLite file, or the PostgreSQL schema of the `postgres`
history store) because that is the one database every instance of a deployment already shares:
a key created or revoked anywhere is seen everywhere. A key is ``msk_<id>_<secret>``; only the
SHA-256 of the whole key is stored (the secret is 256 random bits, so a slow hash adds nothing).
`verify` trusts an answer for `cache_seconds` (≤ 2 s), which bounds how long a revoked key lives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from memstack.config import MemoryConfig, load_config
from memstack.errors import ConfigError, InvalidInput, StoreError

TABLE = "memstack_api_keys"
_T = TypeVar("_T")
SCOPE_KEYS = ("user_id", "agent_id", "run_id")
_COLS = "id, name, scope, read_only, admin, created_at, revoked_at"
_KEY_RE = re.compile(r"^msk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKey:
    """A key as the server sees it (never the secret). `scope` is empty for admin keys."""

    id: str
    name: str
    scope: dict[str, str] = field(default_factory=dict)
    read_only: bool = False
    admin: bool = False
    created_at: str = ""
    revoked_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def parse_scope(items: Sequence[str]) -> dict[str, str]:
    """``["user_id=alice", "agent_id=bot"]`` → a scope dict; names the bad item."""
    scope: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in SCOPE_KEYS or not value.strip():
            raise InvalidInput(f"--scope {item!r}: expected NAME=VALUE with NAME one of "
                               f"{', '.join(SCOPE_KEYS)} and a non-empty VALUE")
        if name in scope:
            raise InvalidInput(f"--scope names {name} twice")
        scope[name] = value
    return scope


class _Backend(Protocol):
    table: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


class _SQLite:
    """One connection (thread-safe under a lock) to the history's SQLite file."""

    def __init__(self, path: str) -> None:
        if path == ":memory:":
            raise ConfigError("API keys need a history database other processes can open; the "
                              "sqlite history store is ':memory:'. Give history_store.config.path "
                              "a file, or disable server.auth on loopback",
                              field="history_store.config.path", given=path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.table = TABLE
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self.execute(f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL, read_only INTEGER NOT NULL, admin INTEGER NOT NULL,
            created_at TEXT NOT NULL, revoked_at TEXT)""")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql.replace("%s", "?"), tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError("api-keys", f"sqlite: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Postgres:
    """One connection to the `postgres` history store's database; reconnects when it drops."""

    def __init__(self, conf: Any) -> None:
        from memstack_pgvector.connection import Connector, locked
        from psycopg import sql

        self._connector = Connector("api-keys", conf)
        self._lock = threading.Lock()
        self._conn: Any = None
        self.table = sql.Identifier(conf.db_schema, TABLE).as_string(None)
        schema = sql.Identifier(conf.db_schema).as_string(None)
        setup = [f"CREATE SCHEMA IF NOT EXISTS {schema}",
                 f"""CREATE TABLE IF NOT EXISTS {self.table} (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL, read_only BOOLEAN NOT NULL, admin BOOLEAN NOT NULL,
            created_at TEXT NOT NULL, revoked_at TEXT)"""]

        def create(conn: Any) -> None:
            for statement in setup:
                conn.execute(statement)

        # One transaction under the stores' setup lock: servers started together on a new
        # database would otherwise race, as CREATE ... IF NOT EXISTS is not atomic in
        # PostgreSQL (the loser fails on the catalog's unique index).
        self._run(lambda conn: locked(conn, lambda: create(conn)))

    def execute(self, sql_text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def one(conn: Any) -> list[tuple[Any, ...]]:
            cur = conn.execute(sql_text, tuple(params))
            return cur.fetchall() if cur.description else []

        return self._run(one)

    def _run(self, fn: Callable[[Any], _T]) -> _T:
        """`fn(connection)`, reconnecting once if the connection dropped."""
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = self._connector.connect()
                        self._conn.autocommit = True
                    return fn(self._conn)
                except psycopg.OperationalError as exc:
                    self._conn = None
                    if attempt == 2:
                        raise StoreError("api-keys", f"postgres: {exc}") from exc
                except psycopg.Error as exc:
                    raise StoreError("api-keys", f"postgres: {exc}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _backend_for(config: MemoryConfig) -> _Backend:
    from memstack.registry import get_registry

    section = config.history_store
    conf = get_registry().validate_config("history_store", section.provider,
                                          dict(section.config))
    if section.provider == "sqlite":
        return _SQLite(str(conf.path))  # type: ignore[attr-defined]
    if section.provider == "postgres":
        return _Postgres(conf)
    raise ConfigError(
        f"API keys are stored in the history store's database; history store "
        f"{section.provider!r} is not one memstack-server can open",
        field="history_store.provider", given=section.provider, allowed="sqlite or postgres")


class KeyStore:
    """Create, list, revoke and verify keys. Opens its database on first use."""

    def __init__(self, config: MemoryConfig | dict[str, Any] | str | None = None, *,
                 cache_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.config = load_config(config)
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._backend: _Backend | None = None
        self._open_lock = threading.Lock()
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    @property
    def db(self) -> _Backend:
        if self._backend is None:
            with self._open_lock:
                if self._backend is None:
                    self._backend = _backend_for(self.config)
        return self._backend

    def create(self, name: str, *, scope: dict[str, str] | None = None,
               read_only: bool = False, admin: bool = False) -> tuple[str, ApiKey]:
        """A new key: (the raw key — shown once, never stored —, its record)."""
        scope = dict(scope or {})
        if bad := sorted(set(scope) - set(SCOPE_KEYS)):
            raise InvalidInput(f"scope names {bad}; allowed: {', '.join(SCOPE_KEYS)}")
        if admin and scope:
            raise InvalidInput("an admin key acts in every scope; give --admin or --scope, "
                               "not both")
        if not admin and not scope:
            raise InvalidInput("a key needs a scope (--scope user_id=alice) or --admin")
        if not name or len(name) > 200:
            raise InvalidInput("name must be 1 to 200 characters")
        key_id = secrets.token_hex(6)
        raw = f"msk_{key_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(
            f"INSERT INTO {self.db.table} (id, name, key_hash, scope, read_only, admin, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (key_id, name, _hash(raw), json.dumps(scope, sort_keys=True), read_only, admin, now))
        return raw, ApiKey(key_id, name, scope, read_only, admin, now)

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        rows = self.db.execute(
            f"SELECT {_COLS} FROM {self.db.table} "
            "ORDER BY created_at, id")
        keys = [self._key(r) for r in rows]
        return [k for k in keys if include_revoked or k.revoked_at is None]

    def revoke(self, key_id: str) -> ApiKey:
        rows = self.db.execute(f"SELECT id, name, scope, read_only, admin, created_at, "
                               f"revoked_at FROM {self.db.table} WHERE id = %s", (key_id,))
        if not rows:
            from memstack.errors import MemoryNotFound

            raise MemoryNotFound(f"no API key with id {key_id!r} (see `memstack keys list`)")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.db.execute(f"UPDATE {self.db.table} SET revoked_at = %s WHERE id = %s "
                        "AND revoked_at IS NULL", (now, key_id))
        self._cache.clear()
        return self._key(self.db.execute(
            f"SELECT {_COLS} FROM {self.db.table} "
            "WHERE id = %s", (key_id,))[0])

    def cached(self, raw_key: str) -> tuple[bool, ApiKey | None]:
        """(True, answer) when `verify` would answer from its cache (no database read)."""
        if not isinstance(raw_key, str) or not _KEY_RE.match(raw_key):
            return True, None
        hit = self._cache.get(_hash(raw_key))
        if hit is not None and hit[0] > self._clock():
            return True, hit[1]
        return False, None

    def verify(self, raw_key: str) -> ApiKey | None:
        """The key's record when `raw_key` is a live key, else None. Cached ≤ cache_seconds."""
        if not isinstance(raw_key, str) or not _KEY_RE.match(raw_key):
            return None
        digest = _hash(raw_key)
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        rows = self.db.execute(
            f"SELECT id, name, scope, read_only, admin, created_at, revoked_at, key_hash "
            f"FROM {self.db.table} WHERE id = %s", (_KEY_RE.match(raw_key).group(1),))  # type: ignore[union-attr]
        key = None
        if rows and hmac.compare_digest(rows[0][7], digest) and rows[0][6] is None:
            key = self._key(rows[0][:7])
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self.cache_seconds, key)
        return key

    @staticmethod
    def _key(row: Sequence[Any]) -> ApiKey:
        return ApiKey(id=row[0], name=row[1], scope=json.loads(row[2]), read_only=bool(row[3]),
                      admin=bool(row[4]), created_at=row[5], revoked_at=row[6])

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
