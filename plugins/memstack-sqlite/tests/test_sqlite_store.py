"""The `sqlite` store beyond the contract suite: scope indexes used, several processes sharing
one file, reopening, the scope cache never stale, filters equal to the reference store's."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from memstack.errors import DimensionMismatch, StoreError
from memstack.filters import parse_filter
from memstack.models import Record
from memstack.registry import get_registry


def rec(rid: str, vector: list[float], **payload: object) -> Record:
    return Record(id=rid, vector=vector, payload=dict(payload))


def plan(store, sql: str, params: list) -> str:
    return " | ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql, params))


def test_scoped_reads_use_the_scope_indexes(make_store):
    store = make_store()
    store.upsert([rec(f"r{i}", [1.0, i, 0, 0], user_id=f"u{i % 5}", agent_id="a",
                      text=f"word{i % 3} common") for i in range(50)])
    for field in ("user_id", "agent_id", "run_id"):
        text = plan(store, f'SELECT id, vec FROM "t" WHERE {field} = ?', ["u1"])
        assert f"USING INDEX t__{field} ({field}=?)" in text, text
        text = plan(store, f'SELECT count(*), total(kw_len) FROM "t" WHERE {field} = ?', ["u1"])
        assert f"USING COVERING INDEX t__{field}" in text, text
        text = plan(store, f'SELECT seq, term, tf FROM "t__kw" WHERE {field} = ? AND term IN '
                    "(?, ?)", ["u1", "word1", "common"])
        assert f"USING COVERING INDEX t__kw_{field} ({field}=? AND term=?)" in text, text
    # the store's own condition for a scope plus the engine's time view keeps to the index
    from memstack_sqlite.store import _where

    view = {"user_id": "u1", "NOT": {"expires_at_ts": {"lte": 5}}, "kind": {"in": ["a", "b"]}}
    where, params = _where(parse_filter(view))
    text = plan(store, f'SELECT id FROM "t"{where}', params)
    assert "USING INDEX t__user_id (user_id=?)" in text, text
    # whole rows of a user scope (vectors, payloads) are one range of the clustered key, with
    # any other scope field checked on those rows; agent and run scopes use their index
    for raw in [view, {"AND": [{"user_id": "u1"}, {"agent_id": "a"}]}]:
        where, params = _where(parse_filter(raw), clustered=True)
        text = plan(store, f'SELECT id, vec FROM "t"{where}', params)
        assert "SEARCH t USING PRIMARY KEY (ukey=?)" in text, text
    where, params = _where(parse_filter({"agent_id": "a"}), clustered=True)
    text = plan(store, f'SELECT id, vec FROM "t"{where}', params)
    assert "USING INDEX t__agent_id (agent_id=?)" in text, text
    # and the store's own statements select the same rows the reference does
    node = parse_filter({"user_id": "u1"})
    assert store.count(node) == 10
    assert {h.id for h in store.query([1, 0, 0, 0], limit=50, filters=node)} == {
        f"r{i}" for i in range(1, 50, 5)}


def test_data_and_keywords_survive_reopen(make_store):
    store = make_store()
    store.upsert([rec("a", [1, 0, 0, 0], user_id="u", text="zebra crossing"),
                  rec("b", [0, 1, 0, 0], user_id="u", text="quiet library")])
    store.close()
    again = make_store()
    assert again.count() == 2
    assert [h.id for h in again.keyword_query("zebra", limit=5)] == ["a"]
    assert again.get(["a"], with_vectors=True)[0].vector == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(DimensionMismatch):
        make_store(dimension=8)


def test_changing_the_tokenizer_retokenises(make_store):
    store = make_store()
    store.upsert([rec("a", [1, 0, 0, 0], text="the dancers were dancing")])
    assert [h.id for h in store.keyword_query("dance", limit=5)] == ["a"]  # stems meet
    store.close()
    simple = make_store(keyword_tokenizer="simple")
    assert simple.keyword_query("dance", limit=5) == []
    assert [h.id for h in simple.keyword_query("dancing", limit=5)] == ["a"]
    assert [h.id for h in simple.keyword_query("the", limit=5)] == ["a"]  # no stop words


def test_keyword_search_off_is_not_declared(make_store):
    off, on = make_store(keyword_search=False).capabilities, make_store().capabilities
    assert "keyword_search" not in off and "hybrid_query" not in off
    assert {"keyword_search", "hybrid_query"} <= on


def test_collection_names_are_checked(make_store):
    from memstack.errors import ConfigError

    with pytest.raises(ConfigError, match=r"collection.*names a SQLite table"):
        make_store(collection='x"; DROP TABLE t; --')


WRITER = textwrap.dedent("""
    import json, sys
    from memstack.models import Record
    from memstack.registry import get_registry
    config, k = json.loads(sys.argv[1]), int(sys.argv[2])
    store = get_registry().build("vector_store", "sqlite", config)
    for n in range(40):
        store.upsert([Record(id=f"p{k}-{n}", vector=[1.0, float(n), float(k), 0.5],
                             payload={"user_id": "big", "text": f"writer{k} note"})])
    store.delete([f"p{k}-0"])
    store.close()
""")


def test_other_processes_writes_are_visible_and_never_served_stale(make_store, db_path):
    """The cache holds the scope (cache_min_rows 1) before two other processes write into it;
    every later search must see their writes and deletes."""
    config = {"path": str(db_path), "collection": "t", "dimension": 4, "cache_min_rows": 1}
    store = make_store(cache_min_rows=1)
    store.upsert([rec("mine", [1, 0, 0, 0], user_id="big", text="parent note")])
    node = parse_filter({"user_id": "big"})
    assert [i for i, _ in store.query_ids([1, 0, 0, 0], limit=100, filters=node)] == ["mine"]
    assert len(store._cache) == 1
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, json.dumps(config), str(k)],
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    want = {"mine"} | {f"p{k}-{n}" for k in range(2) for n in range(1, 40)}
    assert {i for i, _ in store.query_ids([1, 0, 0, 0], limit=500, filters=node)} == want
    assert store.count(node) == len(want)
    hits = store.keyword_query("writer1", limit=100, filters=node)
    assert {h.id for h in hits} == {f"p1-{n}" for n in range(1, 40)}
    # this process's own writes invalidate too
    store.delete(["mine"])
    assert "mine" not in {i for i, _ in store.query_ids([1, 0, 0, 0], limit=500, filters=node)}
    store.upsert([rec("p0-5", [0, 0, 0, 1], user_id="elsewhere")])  # moved out of the scope
    assert "p0-5" not in {i for i, _ in store.query_ids([1, 0, 0, 0], limit=500, filters=node)}


def test_a_write_that_cannot_get_the_lock_is_a_store_error(make_store, db_path):
    import sqlite3

    store = make_store(busy_timeout=0.2)
    blocker = sqlite3.connect(str(db_path), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match=r"upsert failed on table 't'.*locked"):
            store.upsert([rec("a", [1, 0, 0, 0])])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.upsert([rec("a", [1, 0, 0, 0])])
    assert store.count() == 1


FILTERS = [
    {"user_id": "u1"},
    {"user_id": "u1", "kind": "a"},
    {"user_id": "u2", "agent_id": "x"},
    {"user_id": "u1", "n": {"gte": 3, "lt": 30}},
    {"user_id": "u3", "tags": {"contains": "red"}},
    {"user_id": "u1", "NOT": {"kind": {"in": ["a", "b"]}}},
    {"OR": [{"user_id": "u1"}, {"agent_id": "y"}]},
    {"kind": {"ne": "c"}},
    {"user_id": {"in": ["u1", "u2"]}, "day": {"gt": "2026-01-10"}},
    {"run_id": "r1"},
    {"user_id": "u0", "mixed": {"ne": 1}},
    {"mixed": {"nin": ["1", "x"]}},
    {"mixed": True},
    {"mixed": {"gte": 1}},
    {"mixed": {"lt": "b"}},
    {"tags": {"ne": "red"}},
    {"mixed": {"contains": 1}},
    {"NOT": {"mixed": {"eq": 1.0}}},
    {"nothing": {"ne": 0}},
]


@pytest.mark.parametrize("cached", [False, True])
def test_filters_select_what_the_reference_store_selects(make_store, cached):
    rng = random.Random(5)
    records = []
    for i in range(300):
        payload: dict = {"user_id": f"u{rng.randrange(4)}", "kind": rng.choice("abcd"),
                         "n": rng.randrange(40), "day": f"2026-01-{rng.randrange(1, 29):02d}",
                         "tags": rng.sample(["red", "green", "blue"], rng.randrange(3)),
                         "text": " ".join(rng.choice(["apple", "pear", "plum", "fig", "kiwi"])
                                          for _ in range(rng.randrange(1, 6)))}
        if rng.random() < 0.5:
            payload["agent_id"] = rng.choice("xy")
        if rng.random() < 0.3:
            payload["run_id"] = "r1"
        if rng.random() < 0.05:
            payload["user_id"] = 7  # not a string: never in a scope
        # every type family under one key: numbers (1 and 1.0), bools, strings, lists, None
        payload["mixed"] = rng.choice([1, 1.0, 2, True, False, "1", "a", "x", None, [1, 2],
                                       [True], ["1"], 0.5])
        records.append(Record(id=f"m{i:03d}", vector=[rng.gauss(0, 1) for _ in range(4)],
                              payload=payload))
    store = make_store(cache_min_rows=1 if cached else 1000)
    ref = get_registry().build("vector_store", "memory", {"collection": "r", "dimension": 4})
    store.upsert(records)
    ref.upsert(records)
    q = [0.3, -0.2, 0.9, 0.1]
    for raw in FILTERS:
        node = parse_filter(raw)
        assert store.count(node) == ref.count(node), raw
        assert [r.id for r in store.list(filters=node)] == [r.id for r in ref.list(filters=node)]
        assert [r.id for r in store.list(filters=node, limit=7, offset=5)] == [
            r.id for r in ref.list(filters=node, limit=7, offset=5)], raw
        for _ in range(2):  # the second time from the cache, when cached
            got = store.query(q, limit=12, filters=node)
            want = ref.query(q, limit=12, filters=node)
            assert [h.id for h in got] == [h.id for h in want], raw
            assert all(abs(a.score - b.score) < 1e-5 for a, b in zip(got, want, strict=True))
            assert [h.payload for h in got] == [h.payload for h in want]


def test_keyword_scores_equal_the_engines_bm25(make_store):
    """The same scores as the engine's own index (memstack.keyword_index) attached to the
    reference store, scope by scope, with filters beyond the scope."""
    from memstack.keyword_index import KeywordIndex

    rng = random.Random(11)
    words = ["dance", "dancing", "painted", "paint", "hobby", "hobbies", "trip", "paris",
             "kids", "school", "the", "and", "music", "guitar", "camping"]
    records = [Record(id=f"k{i:03d}", vector=[1.0, i, 0, 1],
                      payload={"user_id": f"u{i % 3}", "agent_id": "ab"[i % 2],
                               "kind": "xyz"[i % 3 == 0],
                               "text": " ".join(rng.choice(words)
                                                for _ in range(rng.randrange(1, 12)))})
               for i in range(240)]
    store = make_store()
    ref = get_registry().build("vector_store", "memory", {"collection": "r", "dimension": 4})
    store.upsert(records)
    ref.upsert(records)
    index = KeywordIndex()
    index.sync(ref)
    for raw in [None, {"user_id": "u1"}, {"user_id": "u2", "agent_id": "a"},
                {"user_id": "u0", "kind": "x"}, {"agent_id": "b"},
                {"kind": {"in": ["x", "y"]}}]:
        node = parse_filter(raw)
        for text in ["dancing hobbies", "paint trip to paris", "guitar", "nothing matches",
                     "the and"]:
            for limit in (1, 5, 40):
                got = [(h.id, h.score) for h in store.keyword_query(text, limit=limit,
                                                                    filters=node)]
                want = index.search(text, limit=limit, filters=node)
                assert [i for i, _ in got] == [i for i, _ in want], (raw, text, limit)
                assert all(abs(a - b) < 1e-9 for (_, a), (_, b) in zip(got, want, strict=True))


def test_default_path_is_under_the_data_home(tmp_path: Path):
    store = get_registry().build("vector_store", "sqlite", {"dimension": 4})
    try:
        assert store.path == tmp_path / "home" / "vectors.db"
        assert store.path.exists()
    finally:
        store.close()


FIRST_LAYOUT = """
CREATE TABLE memstack_collections (name TEXT PRIMARY KEY, dimension INTEGER NOT NULL,
  tokenizer TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT 0);
CREATE TABLE "t__scopes" (field TEXT NOT NULL, value TEXT NOT NULL, stamp INTEGER NOT NULL,
  PRIMARY KEY (field, value)) WITHOUT ROWID;
CREATE TABLE "t" (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, user_id TEXT, agent_id TEXT,
  run_id TEXT, vec BLOB NOT NULL, payload TEXT NOT NULL, kw_len INTEGER NOT NULL);
CREATE TABLE "t__kw" (seq INTEGER NOT NULL, term TEXT NOT NULL, tf INTEGER NOT NULL,
  user_id TEXT, agent_id TEXT, run_id TEXT, PRIMARY KEY (seq, term)) WITHOUT ROWID;
CREATE INDEX "t__user_id" ON "t" (user_id, kw_len) WHERE user_id IS NOT NULL;
"""


def test_a_file_of_the_first_layout_is_migrated_with_nothing_lost(make_store, db_path):
    """Files written before the clustered layout (rowid table, 4 KiB pages) are rewritten on
    open: every record, its order, its vector and its keywords are kept, and the file gets
    the larger pages the clustered rows need."""
    import sqlite3

    import numpy as np

    # a file of the first layout, written as that version wrote it
    old = sqlite3.connect(db_path, isolation_level=None)
    old.execute("PRAGMA page_size = 4096")
    old.execute("PRAGMA journal_mode = WAL")
    old.executescript(FIRST_LAYOUT)
    old.execute("INSERT INTO memstack_collections VALUES ('t', 4, 'english', 3)")
    rows = [(seq, f"r{seq}", f"u{seq % 3}" if seq % 4 else None, "a" if seq % 2 else None,
             np.array([1, seq, 0, 0], dtype=np.float32).tobytes(),
             json.dumps({"text": f"zebra {seq}" if seq % 5 == 0 else "other",
                         **({"user_id": f"u{seq % 3}"} if seq % 4 else {}),
                         **({"agent_id": "a"} if seq % 2 else {})}), 2 if seq % 5 == 0 else 1)
            for seq in range(1, 41)]
    old.executemany('INSERT INTO "t" VALUES (?, ?, ?, ?, NULL, ?, ?, ?)', rows)
    old.executemany('INSERT INTO "t__kw" VALUES (?, ?, 1, ?, ?, NULL)',
                    [(r[0], term, r[2], r[3]) for r in rows
                     for term in (["zebra", str(r[0])] if r[0] % 5 == 0 else ["other"])])
    old.close()

    store = make_store()
    assert store.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert "WITHOUT ROWID" in store.db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 't'").fetchone()[0]
    assert store.count() == 40
    assert [r.id for r in store.list()] == [f"r{seq}" for seq in range(1, 41)]  # order kept
    assert store.get(["r7"], with_vectors=True)[0].vector == [1.0, 7.0, 0.0, 0.0]
    assert store.count(parse_filter({"user_id": "u1"})) == len(
        [r for r in rows if r[2] == "u1"])
    assert {h.id for h in store.keyword_query("zebra", limit=20)} == {
        f"r{seq}" for seq in range(5, 41, 5)}
    hits = store.query([1, 7, 0, 0], limit=3, filters=parse_filter({"user_id": "u1"}))
    assert hits[0].id == "r7"
    # and it keeps working as a clustered file: a new record lands after the migrated ones
    store.upsert([rec("new", [0, 0, 1, 0], user_id="u1", text="zebra")])
    assert store.list()[-1].id == "new"
    assert store.query([0, 0, 1, 0], limit=1, filters=parse_filter({"user_id": "u1"}))[0].id \
        == "new"


def test_pages_are_enlarged_at_a_later_open_when_another_connection_holds_the_file(
        make_store, db_path):
    """Changing the page size needs the only connection to the file: with another one open the
    migration still runs (records clustered, nothing lost) and the pages change at a later
    open, once the file is free."""
    import sqlite3

    import numpy as np

    old = sqlite3.connect(db_path, isolation_level=None)
    old.execute("PRAGMA page_size = 4096")
    old.execute("PRAGMA journal_mode = WAL")
    old.executescript(FIRST_LAYOUT)
    old.execute("INSERT INTO memstack_collections VALUES ('t', 4, 'english', 1)")
    old.executemany('INSERT INTO "t" VALUES (?, ?, ?, NULL, NULL, ?, ?, 1)',
                    [(seq, f"r{seq}", "u", np.array([1, seq, 0, 0], dtype=np.float32).tobytes(),
                      json.dumps({"user_id": "u", "text": "x"})) for seq in range(1, 6)])
    old.close()
    other = sqlite3.connect(db_path, isolation_level=None)  # another process, say
    other.execute("SELECT count(*) FROM memstack_collections").fetchone()
    store = make_store()
    assert "WITHOUT ROWID" in store.db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 't'").fetchone()[0]
    assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert [r.id for r in store.list()] == [f"r{seq}" for seq in range(1, 6)]
    store.close()
    other.close()
    again = make_store()
    assert again.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r.id for r in again.list()] == [f"r{seq}" for seq in range(1, 6)]
