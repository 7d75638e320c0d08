"""Connecting: conninfo from the config, the password from the environment, a pool, error wrapping.

Imported only when a provider is built, because it imports psycopg.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from memstack.errors import StoreError, translate_errors
from memstack_pgvector.config import PostgresConnectionConfig

# One key for every schema change memstack makes in a database: creating the extension, schemas,
# tables and indexes happens under this transaction-scoped advisory lock, so two processes opening
# the same new collection at once do not race on CREATE ... IF NOT EXISTS.
SETUP_LOCK_KEY = 0x6D656D737461636B  # "memstack"
T = TypeVar("T")


def locked(conn: psycopg.Connection[Any], fn: Callable[[], T]) -> T:
    """`fn()` in one transaction holding the setup lock (schema changes in a database, one at a
    time across processes)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [SETUP_LOCK_KEY])
        return fn()


class Connector:
    """Builds connections from a config without ever exposing the password in text."""

    def __init__(self, provider: str, config: PostgresConnectionConfig) -> None:
        self.provider = provider
        dsn = config.dsn.get_secret_value() if config.dsn is not None else ""
        parts: dict[str, Any] = {
            k: v
            for k, v in {
                "host": config.host,
                "port": config.port,
                "dbname": config.dbname,
                "user": config.user,
                "sslmode": config.sslmode,
            }.items()
            if v is not None
        }
        try:
            self.conninfo = pg_conninfo.make_conninfo(dsn, **parts)
        except psycopg.ProgrammingError:
            # The message may quote the DSN, which may hold a password: do not repeat it.
            raise StoreError(provider, "the dsn is not a valid libpq connection string") from None
        password = None
        if config.password is not None:
            password = config.password.get_secret_value()
        elif config.password_env and os.environ.get(config.password_env):
            password = os.environ[config.password_env]
        self._kwargs: dict[str, Any] = {
            "connect_timeout": max(1, round(config.connect_timeout)),
            "application_name": "memstack",
            "autocommit": True,
            # No server-side prepared statements: they break behind PgBouncer in transaction
            # mode, and memstack's queries are cheap to plan.
            "prepare_threshold": None,
        }
        if password is not None:
            self._kwargs["password"] = password
        self.timeout = config.connect_timeout
        self.min_size = config.pool_min_size
        self.max_size = config.pool_max_size

    def target(self) -> str:
        """Where we connect, for messages: host, port, database and user, never the password."""
        try:
            info = pg_conninfo.conninfo_to_dict(self.conninfo)
        except psycopg.Error:
            return "the configured server"
        host = info.get("host") or os.environ.get("PGHOST") or "the default socket"
        port = info.get("port") or os.environ.get("PGPORT") or "5432"
        db = info.get("dbname") or os.environ.get("PGDATABASE") or "(default database)"
        user = info.get("user") or os.environ.get("PGUSER") or "(default user)"
        return f"database {db!r} on {host}:{port} as {user!r}"

    def connect(self) -> psycopg.Connection[Any]:
        with self.errors(f"connecting to {self.target()}"):
            return psycopg.connect(self.conninfo, **self._kwargs)

    def pool(self, configure: Callable[[psycopg.Connection[Any]], None]) -> ConnectionPool:
        """An open pool whose connections ran `configure`; fails fast when the server is down."""
        pool = ConnectionPool(
            self.conninfo,
            kwargs=dict(self._kwargs),
            min_size=self.min_size,
            max_size=self.max_size,
            timeout=self.timeout,
            configure=configure,
            name=f"memstack-{self.provider}",
            open=False,
        )
        try:
            pool.open(wait=self.min_size > 0, timeout=self.timeout)
        except PoolTimeout as exc:
            pool.close()
            raise StoreError(
                self.provider,
                f"could not connect to {self.target()} within {self.timeout:g}s",
                hint="check host/port/dbname/user and the password environment variable",
            ) from exc
        return pool

    def run(self, pool: ConnectionPool, action: str,
            fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`fn(connection)` with a pooled connection; errors become StoreError.

        Pooled connections are not pinged before use (that costs a round trip per call).
        Instead, when a call fails because its connection died (server restart, failover,
        idle timeout), the pool drops its dead connections and the call runs once more. Every
        operation of these stores is idempotent, so running it again is safe.

        This runs on every query, so it is plain try/except around `getconn`/`putconn` rather
        than `pool.connection()` inside `errors()`: the same steps (connections are in
        autocommit, so that context's commit/rollback has nothing to do; `putconn` rolls back
        a connection left in a transaction), at half the Python cost.
        """
        try:
            for attempt in (1, 2):
                conn = pool.getconn()
                try:
                    return fn(conn)
                except psycopg.OperationalError:
                    if attempt == 2 or not conn.broken:
                        raise
                finally:
                    pool.putconn(conn)
                pool.check()
        except (psycopg.Error, PoolTimeout):
            with self.translate(action):
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Re-raise psycopg and pool errors as StoreError naming the provider (cause kept)."""
        try:
            yield
        except (psycopg.Error, PoolTimeout):
            with self.translate(action):
                raise

    def translate(self, action: str) -> AbstractContextManager[None]:
        """The core's shared translation, with this connection's secrets scrubbed."""
        return translate_errors(self.provider, action, scrub=self._scrub)

    def _scrub(self, text: str) -> str:
        secrets = [self._kwargs.get("password")]
        with suppress(psycopg.ProgrammingError):
            secrets.append(pg_conninfo.conninfo_to_dict(self.conninfo).get("password"))
        for secret in secrets:
            if isinstance(secret, str) and secret:
                text = text.replace(secret, "**********")
        return text
