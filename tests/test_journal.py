"""Two-phase writes: a failure or a crash between the phases is settled, never half-applied."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from memstack import Memory
from memstack.builtin.sqlite_history import SQLiteHistoryConfig, SQLiteHistoryStore
from memstack.journal import new_entry, recover, writer_is_dead


def test_store_failure_discards_pending_history(base_config: dict) -> None:
    m = Memory(base_config)

    def broken(records):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    m.store.upsert = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="disk full"):
        m.add("will not be stored", user_id="u")
    assert m.history_store.pending() == []
    assert m.history_store.memory_ids() == []


def test_recover_commits_what_the_store_has_and_discards_the_rest(base_config: dict) -> None:
    m = Memory(base_config)
    kept = m.add("kept", user_id="u").results[0]
    dead = "somehost-that-is-not-this:1:0"
    # A writer died after the store write (entry must be committed) ...
    e1 = new_entry(kept.id, "UPDATE", old="kept", new="kept", old_hash=None,
                   new_hash=m.get(kept.id).hash)  # type: ignore[union-attr]
    # ... and another before it (entry must be discarded).
    e2 = new_entry("never-written", "ADD", new="lost", new_hash="abc")
    for e in (e1, e2):
        e.writer = dead
        e.created_at = "2000-01-01T00:00:00+00:00"
    m.history_store.begin([e1, e2])
    assert recover(m.store, m.history_store) == 2
    assert m.history_store.pending() == []
    assert [h.entry_id for h in m.history(kept.id)][-1] == e1.entry_id
    assert m.history("never-written") == []


def test_live_writer_pending_rows_are_left_alone(tmp_path: Path) -> None:
    h = SQLiteHistoryStore(SQLiteHistoryConfig(path=str(tmp_path / "h.db")))
    e = new_entry("m1", "ADD", new="x", new_hash="h")  # written by this (live) process
    h.begin([e])
    from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig

    store = InMemoryVectorStore(MemoryStoreConfig(dimension=2))
    assert recover(store, h) == 0 and len(h.pending()) == 1
    assert not writer_is_dead(e.writer, e.created_at)


def test_killed_child_leaves_state_that_recovery_settles(tmp_path: Path) -> None:
    """A child dies (os._exit) between history-begin and the store write."""
    db = tmp_path / "h.db"
    script = f"""
import os
from memstack.builtin.sqlite_history import SQLiteHistoryConfig, SQLiteHistoryStore
from memstack.journal import new_entry
h = SQLiteHistoryStore(SQLiteHistoryConfig(path={str(db)!r}))
h.begin([new_entry("m1", "ADD", new="x", new_hash="h")])
os._exit(9)
"""
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == 9
    h = SQLiteHistoryStore(SQLiteHistoryConfig(path=str(db)))
    assert len(h.pending()) == 1
    from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig

    assert recover(InMemoryVectorStore(MemoryStoreConfig(dimension=2)), h) == 1
    assert h.pending() == [] and h.history("m1") == []


def test_history_schema_is_versioned(tmp_path: Path) -> None:
    import sqlite3

    SQLiteHistoryStore(SQLiteHistoryConfig(path=str(tmp_path / "h.db"))).close()
    (version,) = sqlite3.connect(tmp_path / "h.db").execute("PRAGMA user_version").fetchone()
    assert version == 1
    (mode,) = sqlite3.connect(tmp_path / "h.db").execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
