"""One Qdrant client per local folder in a process, shared by the stores of its collections.

Qdrant's local mode locks its folder: a second `QdrantClient(path=...)` fails, even in the same
process. Stores of *different* collections in one folder therefore share one client (and one
lock: local mode has none of its own); the client closes when its last store does. A second
store on the *same* collection is still refused: local mode is one writer per collection.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

_GUARD = threading.Lock()
_FOLDERS: dict[str, _Folder] = {}


@dataclass
class _Folder:
    client: Any
    lock: threading.RLock = field(default_factory=threading.RLock)
    collections: set[str] = field(default_factory=set)


class FolderBusy(RuntimeError):
    """This process already has a store open on that collection of that folder."""


def open_folder(path: str, collection: str) -> tuple[Any, threading.RLock]:
    """(client, lock) for `collection` in the folder `path`; raises FolderBusy as above."""
    from qdrant_client import QdrantClient

    key = os.path.realpath(path)
    with _GUARD:
        folder = _FOLDERS.get(key)
        if folder is None:
            folder = _Folder(QdrantClient(path=path))
            _FOLDERS[key] = folder
        elif collection in folder.collections:
            raise FolderBusy(
                f"Storage folder {path} is already accessed by another instance of Qdrant "
                f"client for collection {collection!r}")
        folder.collections.add(collection)
        return folder.client, folder.lock


def close_folder(path: str, collection: str) -> None:
    """Release `collection`'s hold on the folder; the last one closes the client."""
    key = os.path.realpath(path)
    with _GUARD:
        folder = _FOLDERS.get(key)
        if folder is None:
            return
        folder.collections.discard(collection)
        if not folder.collections:
            del _FOLDERS[key]
            folder.client.close()
