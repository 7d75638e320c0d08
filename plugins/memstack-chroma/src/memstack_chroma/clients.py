"""One Chroma client per mode, with telemetry off. Imports chromadb, so only the store imports it.

- disk: `chromadb.PersistentClient(path)`. Chroma shares one engine per path inside a process
  (reference-counted, released by `close()`); it is not safe across processes.
- server: `chromadb.HttpClient(host, port, ssl, headers, tenant, database)`.
- memory: `chromadb.EphemeralClient` on a database of its own, created here and deleted on
  close, because every ephemeral client in a process shares one engine: without it, two
  in-memory stores with the same collection name would see each other's records.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import chromadb
from chromadb.config import Settings

from memstack_chroma.config import ChromaConfig

_admin_lock = threading.Lock()
_memory_admin: Any = None


def settings() -> Settings:
    """The same settings every time: Chroma refuses a second client on one path whose settings
    differ from the first one's."""
    return Settings(anonymized_telemetry=False)


def _admin() -> Any:
    """One admin client on the process's ephemeral engine, kept for the process's lifetime."""
    global _memory_admin
    with _admin_lock:
        if _memory_admin is None:
            s = settings()
            s.is_persistent = False
            _memory_admin = chromadb.AdminClient(s)
        return _memory_admin


def connect(config: ChromaConfig) -> tuple[Any, Callable[[], None]]:
    """The client for `config`'s mode and what to call on close (besides `client.close()`)."""
    if config.mode == "server":
        client = chromadb.HttpClient(
            host=config.host or "localhost",
            port=config.port,
            ssl=config.ssl,
            headers=dict(config.headers) or None,
            settings=settings(),
            tenant=config.tenant,
            database=config.database,
        )
        return client, nothing
    if config.mode == "memory":
        admin = _admin()
        database = "memstack-" + uuid.uuid4().hex
        admin.create_database(database)
        try:
            client = chromadb.EphemeralClient(settings=settings(), database=database)
        except BaseException:
            admin.delete_database(database)
            raise
        return client, lambda: admin.delete_database(database)
    path = config.resolved_path()
    path.mkdir(parents=True, exist_ok=True)
    # one spelling per directory: Chroma keys its shared engine by this string
    return chromadb.PersistentClient(path=str(path.resolve()), settings=settings()), nothing


def nothing() -> None:
    """Disk and server modes keep their data after close."""
