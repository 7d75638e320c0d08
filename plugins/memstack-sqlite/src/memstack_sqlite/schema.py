"""The tables of one collection, and opening the file (WAL, busy timeout, schema, tokenizer).

Records: ``ukey`` (the user scope, see below), ``seq`` (insertion order, so `list` pages stably
and a replaced record moves to the end; unique), ``id``, the scope fields of
`memstack.models.SCOPE_FIELDS` as real columns (the value when the payload holds a string there,
else NULL), the vector as float32 bytes, the payload as JSON and the record's keyword length.

The table is clustered by user: a WITHOUT ROWID table whose primary key is (ukey, seq), with
``ukey`` = '=' + user_id ('' without one). Why: memories are written interleaved across users,
so in a rowid table (ordered by seq) the hundred rows of one user sit on a hundred different
pages; reading them is a hundred page lookups, and once the file outgrows the page cache their
cost grows with the collection (measured on 100-row scopes: 0.17 ms at 100k rows, 0.5–1.2 ms at
1M). Clustered, a user's rows are a few adjacent pages (0.15 / 0.21–0.29 ms). Pages are 16 KiB
(`PAGE_SIZE`) so a row with a 384-d vector and its payload stays on its page: at 4 KiB SQLite
moves anything past ~1 KB of a clustered row to overflow pages, which undoes the clustering
(2 ms at 100k). Vectors above ~900 dimensions overflow even at 16 KiB; they still work.

Each scope column also has a partial index (NOT NULL rows only) that carries the keyword length,
so agent and run scopes are read through their index and every scope's BM25 statistics come from
an index, at a cost set by the scope and not by the collection.

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
PAGE_SIZE = 16384  # see the module docstring: a clustered row must fit its page
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
    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # takes effect for a new file only
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"journal_mode WAL refused (got {mode!r})")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")  # 64 MB of pages per connection, at most
    db.execute(f"PRAGMA mmap_size = {int(mmap_mb) * 2**20}")
    return db


RECORD_COLUMNS_SQL = (
    "ukey TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL UNIQUE"
    + "".join(f", {f} TEXT" for f in SCOPE_FIELDS)
    + ", vec BLOB NOT NULL, payload TEXT NOT NULL, kw_len INTEGER NOT NULL,"
    " PRIMARY KEY (ukey, seq)")


def ukey(user_id: str | None) -> str:
    """The clustering key of a record: its user scope ('' when it has none)."""
    return "" if user_id is None else "=" + user_id


def is_clustered(db: sqlite3.Connection, table: str) -> bool | None:
    """Whether the collection's record table has the clustered layout (None: no table yet)."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                     (table,)).fetchone()
    return None if row is None else "WITHOUT ROWID" in row[0].upper()


def migrate(db: sqlite3.Connection, table: str) -> int:
    """Rewrite a record table of the first layout (a rowid table ordered by seq, written by
    memstack-sqlite before the clustered layout) into the clustered one, inside the caller's
    write transaction: every row, seq and keyword posting is kept. Returns the rows moved."""
    t, new = quote(table), quote(table + "__clustered")
    db.execute(f"DROP TABLE IF EXISTS {new}")
    db.execute(f"CREATE TABLE {new} ({RECORD_COLUMNS_SQL}) WITHOUT ROWID")
    cols = f"seq, id, {SCOPE_COLUMNS}, vec, payload, kw_len"
    moved = db.execute(
        # coalesce(...): `ukey` in SQL ('=' || NULL is NULL)
        f"INSERT INTO {new} (ukey, {cols}) SELECT coalesce('=' || user_id, ''), {cols}"
        f" FROM {t} ORDER BY 1, seq").rowcount
    db.execute(f"DROP TABLE {t}")  # its indexes go with it; `create` makes the new ones
    db.execute(f"ALTER TABLE {new} RENAME TO {t}")
    return int(moved)


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
    db.execute(f"CREATE TABLE IF NOT EXISTS {t} ({RECORD_COLUMNS_SQL}) WITHOUT ROWID")
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(table + '__seq')} ON {t} (seq)")
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


def enlarge_pages(db: sqlite3.Connection) -> bool:
    """Rewrite the file with `PAGE_SIZE` pages (after `migrate`: an old file has 4 KiB pages,
    where clustered rows overflow). WAL files keep their page size, so this leaves WAL for one
    VACUUM, which needs the only connection to the file: returns False, changing nothing, when
    another connection holds it (the next open tries again)."""
    if db.execute("PRAGMA page_size").fetchone()[0] >= PAGE_SIZE:
        return True
    timeout = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 0")  # another process there: try again at the next open
    try:
        if str(db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower() != "delete":
            return False
    except sqlite3.OperationalError:
        return False
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    try:
        db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        db.execute("VACUUM")
    finally:
        db.execute("PRAGMA journal_mode = WAL")
    return bool(db.execute("PRAGMA page_size").fetchone()[0] >= PAGE_SIZE)
