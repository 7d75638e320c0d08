"""Opening a `MilvusClient`, and the lifetime of in-process Milvus Lite servers.

pymilvus starts a Milvus Lite server (threads in this process, holding a file lock on the
``.db`` directory) the first time a ``.db`` uri is opened, and keeps it until the process exits.
We count the stores using each Lite file and stop its server when the last one closes, so that
another process can open the file afterwards. Writes to one collection are serialised by a lock
shared by every store on it in this process (Milvus Lite does not support concurrent writers).
"""

from __future__ import annotations

import threading
from typing import Any

from memstack.errors import StoreError
from memstack_milvus.config import MilvusStoreConfig
from memstack_milvus.encoding import PROVIDER

_lock = threading.Lock()
_lite_refs: dict[str, int] = {}
_write_locks: dict[tuple[str, str, str], threading.RLock] = {}


def write_lock(config: MilvusStoreConfig) -> threading.RLock:
    where = (config.display_uri(), config.db_name, config.collection)
    with _lock:
        return _write_locks.setdefault(where, threading.RLock())


def open_client(config: MilvusStoreConfig) -> Any:
    """A connected `MilvusClient`; for Milvus Lite, also takes a reference on the file's server."""
    from pymilvus import MilvusClient

    try:
        if config.is_lite:
            path = config.lite_path
            path.parent.mkdir(parents=True, exist_ok=True)
            with _lock:
                client = MilvusClient(uri=str(path), db_name=config.db_name,
                                      timeout=config.timeout)
                _lite_refs[str(path)] = _lite_refs.get(str(path), 0) + 1
            return client
        token = config.token.get_secret_value() if config.token is not None else ""
        return MilvusClient(uri=config.uri, token=token, db_name=config.db_name,
                            timeout=config.timeout)
    except Exception as exc:
        hint = (
            "Milvus Lite lets one process open a file at a time; use a Milvus server for several "
            "processes" if config.is_lite else
            "check that the server is running and reachable, and the token and db_name"
        )
        raise StoreError(
            PROVIDER, f"cannot open {config.display_uri()}: {type(exc).__name__}: "
            f"{scrub(str(exc), config)}", hint=hint,
        ) from exc


def release(config: MilvusStoreConfig, client: Any) -> None:
    """Close the client; stop the Lite server when no store of this process uses the file."""
    try:
        client.close()
    finally:
        if config.is_lite:
            _release_lite(str(config.lite_path))


def _release_lite(path: str) -> None:
    with _lock:
        left = _lite_refs.get(path, 0) - 1
        if left > 0:
            _lite_refs[path] = left
            return
        _lite_refs.pop(path, None)
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:  # a milvus-lite without the manager: nothing to stop
            return
        stop = getattr(server_manager_instance, "release_server", None)
        if stop is not None:
            stop(path)


def scrub(message: str, config: MilvusStoreConfig) -> str:
    """Never let a token reach an error message, whatever the library put in its text."""
    if config.token is not None:
        secret = config.token.get_secret_value()
        if secret:
            message = message.replace(secret, "**********")
    return message

