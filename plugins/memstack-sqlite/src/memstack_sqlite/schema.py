"""The tables of one collection, and opening the file (WAL, busy timeout, schema, tokenizer).

Records: ``seq`` (rowid: insertion order, so `list` pages stably and a replaced record moves to
the end), ``id``, the scope fields of `memstack.models.SCOPE_FIELDS` as real columns (the value
when the payload holds a string there, else NULL), the vector as float32 bytes, the payload as
JSON and the record's keyword length. Each scope column has a partial index (NOT NULL rows only)
that also carries the keyword length, so a scope's rows and its BM25 statistics are read
through the index, at a cost set by the scope and not by the collection.

Keywords: ``<collection>__kw`` holds one row per (record, term) with the term frequency and the
record's scope columns, clustered by (seq, term) and indexed by (scope column, term, tf) and by
(term, tf): a keyword query reads the postings of its terms within its scope only.

Scope stamps: ``<collection>__scopes`` holds, per scope value written (field, value), the
generation of the last write that touched it (see `memstack_sqlite.scope_cache`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from memstack.models import SCOPE_FIELDS

META = "memstack_collections"
SCOPE_COLUMNS = ", ".join(SCOPE_FIELDS)


def quote(name: str) -> str:
    """A table or index name as a quoted identifier (names are validated: no quote inside)."""
    return '"' + name.replace('"', '""') + '"'


def connect(path: Path, busy_timeout: float, mmap_mb: int = 0) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal, the file
    memory-mapped up to `mmap_mb` (SQLite caps it at its compile-time limit, 2 GB by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None,
                         check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"journal_mode WAL refused (got {mode!r})")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")  # 64 MB of pages per connection, at most
    db.execute(f"PRAGMA mmap_size = {int(mmap_mb) * 2**20}")
    return db


def create(db: sqlite3.Connection, table: str) -> None:
    """Create the collection's tables and indexes if missing (inside the caller's transaction)."""
    t, kw = quote(table), quote(table + "__kw")
    scope_cols = "".join(f", {f} TEXT" for f in SCOPE_FIELDS)
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {META} (name TEXT PRIMARY KEY, dimension INTEGER NOT NULL,"
        " tokenizer TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT 0)")
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {quote(table + '__scopes')} (field TEXT NOT NULL,"
        " value TEXT NOT NULL, stamp INTEGER NOT NULL, PRIMARY KEY (field, value)) WITHOUT ROWID")
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {t} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE"
        f"{scope_cols}, vec BLOB NOT NULL, payload TEXT NOT NULL, kw_len INTEGER NOT NULL)")
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {kw} (seq INTEGER NOT NULL, term TEXT NOT NULL,"
        f" tf INTEGER NOT NULL{scope_cols}, PRIMARY KEY (seq, term)) WITHOUT ROWID")
    for f in SCOPE_FIELDS:
        db.execute(f"CREATE INDEX IF NOT EXISTS {quote(f'{table}__{f}')} ON {t} ({f}, kw_len)"
                   f" WHERE {f} IS NOT NULL")
        db.execute(f"CREATE INDEX IF NOT EXISTS {quote(f'{table}__kw_{f}')} ON {kw}"
                   f" ({f}, term, tf) WHERE {f} IS NOT NULL")
    db.execute(f"CREATE INDEX IF NOT EXISTS {quote(table + '__kw_term')} ON {kw} (term, tf)")


def drop(db: sqlite3.Connection, table: str) -> None:
    db.execute(f"DROP TABLE IF EXISTS {quote(table + '__scopes')}")
    db.execute(f"DROP TABLE IF EXISTS {quote(table + '__kw')}")
    db.execute(f"DROP TABLE IF EXISTS {quote(table)}")
    db.execute(f"DELETE FROM {META} WHERE name = ?", (table,))
