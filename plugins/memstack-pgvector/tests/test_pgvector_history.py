"""The `postgres` history store: the answers of the core's `sqlite` store, shared by servers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from memstack.errors import StoreError
from memstack.models import HistoryEntry
from memstack.registry import get_registry


def entry(memory_id: str, event: str = "ADD", **kw: Any) -> HistoryEntry:
    return HistoryEntry(entry_id=kw.pop("entry_id", uuid.uuid4().hex), memory_id=memory_id,
                        event=event, created_at=kw.pop("created_at", "2024-07-01T12:00:00+00:00"),
                        **kw)


def scenario(store: Any) -> dict[str, Any]:
    """A run of two-phase writes; returns everything observable, to compare stores."""
    e1 = entry("m1", new_memory="likes tea ☕", new_hash="h1", actor_id="alice", role="user",
               writer="srv-a", entry_id="e1")
    e2 = entry("m1", "UPDATE", old_memory="likes tea ☕", new_memory="likes coffee",
               old_hash="h1", new_hash="h2", entry_id="e2")
    e3 = entry("m2", new_memory="x" * 20_000, entry_id="e3")
    e4 = entry("m3", "DELETE", old_memory="gone", entry_id="e4")
    out: dict[str, Any] = {}
    store.begin([e1, e3])
    out["pending1"] = store.pending()
    out["history_before_commit"] = store.history("m1")
    store.commit(["e1"])
    store.begin([e2, e4])
    store.discard(["e4", "e1"])  # e1 is committed: discard leaves it alone
    store.commit(["e2", "e3", "unknown"])
    store.commit([])
    store.discard([])
    out["pending2"] = store.pending()
    out["m1"] = store.history("m1")
    out["m2"] = store.history("m2")
    out["m3"] = store.history("m3")
    out["ids"] = sorted(store.memory_ids())
    with pytest.raises(StoreError):
        store.begin([entry("m9", entry_id="e1")])  # entry ids are unique
    out["after_failed_begin"] = store.pending()
    store.reset()
    out["after_reset"] = (store.pending(), store.memory_ids(), store.history("m1"))
    return out


def test_same_observable_behaviour_as_sqlite(make_history: Any, tmp_path: Any) -> None:
    sqlite = get_registry().build("history_store", "sqlite", {"path": str(tmp_path / "h.db")})
    try:
        expected = scenario(sqlite)
    finally:
        sqlite.close()
    got = scenario(make_history())
    assert got == expected
    assert [e.entry_id for e in got["m1"]] == ["e1", "e2"]
    assert got["m1"][0].new_memory == "likes tea ☕" and got["m1"][0].committed is True
    assert [e.entry_id for e in got["pending1"]] == ["e1", "e3"]
    assert all(e.committed is False for e in got["pending1"])


def test_several_servers_share_one_history(make_history: Any) -> None:
    a, b = make_history(), make_history()
    a.begin([entry("m1", entry_id="x1", writer="a")])
    assert [e.entry_id for e in b.pending()] == ["x1"]  # b can reconcile what a left pending
    b.commit(["x1"])
    b.begin([entry("m1", "UPDATE", entry_id="x2", writer="b")])
    b.commit(["x2"])
    assert [(e.entry_id, e.writer) for e in a.history("m1")] == [("x1", "a"), ("x2", "b")]
    a.close()
    c = make_history()  # reopening finds everything (persistent)
    assert c.memory_ids() == ["m1"]
    assert c.capabilities == {"persistent", "multiprocess"}


def test_concurrent_first_open_and_writes(pg_config: dict[str, Any]) -> None:
    barrier = threading.Barrier(5)
    errors: list[BaseException] = []
    stores: list[Any] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            s = get_registry().build("history_store", "postgres", {**pg_config, "table": "h_race"})
            stores.append(s)
            for j in range(10):
                s.begin([entry(f"m{n}", entry_id=f"{n}-{j}")])
                s.commit([f"{n}-{j}"])
        except BaseException as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert sorted(stores[0].memory_ids()) == [f"m{n}" for n in range(5)]
        assert [e.entry_id for e in stores[0].history("m3")] == [f"3-{j}" for j in range(10)]
    finally:
        for s in stores:
            s.close()


def test_schema_version_is_recorded_and_newer_is_refused(make_history: Any, pg_admin: Any,
                                                         pg_schema: str) -> None:
    make_history(table="h_ver")
    rows = pg_admin.execute(
        f'SELECT name, version FROM "{pg_schema}".memstack_schema_versions').fetchall()
    assert rows == [("h_ver", 1)]
    pg_admin.execute(f'UPDATE "{pg_schema}".memstack_schema_versions SET version = 99')
    with pytest.raises(StoreError, match="newer"):
        make_history(table="h_ver")


def test_app_role_without_create_rights_opens_existing_history(
    pg_admin: Any, make_history: Any, pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    role, password = f"hist_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    pg_admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
    try:
        make_history(table="h_app")
        pg_admin.execute(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO "{role}"')
        pg_admin.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN '
                         f'SCHEMA "{pg_schema}" TO "{role}"')
        monkeypatch.setenv("HIST_PW", password)
        app = make_history(table="h_app", user=role, password_env="HIST_PW")
        app.begin([entry("m1", entry_id="a1")])
        app.commit(["a1"])
        assert [e.entry_id for e in app.history("m1")] == ["a1"]
        app.close()
    finally:
        pg_admin.execute(f'DROP OWNED BY "{role}"')
        pg_admin.execute(f'DROP ROLE "{role}"')


def test_bad_table_name_is_a_config_error(pg_config: dict[str, Any]) -> None:
    from memstack.errors import ConfigError

    with pytest.raises(ConfigError):
        get_registry().build("history_store", "postgres", {**pg_config, "table": 'h"; --'})


def test_lock_excludes_other_servers(make_history: Any, pg_admin: Any) -> None:
    import time

    a, b = make_history(table="h_lock"), make_history(table="h_lock")
    other = make_history(table="h_other")
    events: list[str] = []

    def second() -> None:
        with b.lock():
            events.append("b-in")

    with a.lock():
        events.append("a-in")
        with other.lock():  # another table's history is not blocked
            events.append("other-in")
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)  # give b every chance to (wrongly) get in
        events.append("a-out")
    t.join(timeout=30)
    assert events == ["a-in", "other-in", "a-out", "b-in"]
    # The lock survives its session dying (e.g. a server restart): it reconnects.
    (pid,) = a._lock_conn.execute("SELECT pg_backend_pid()").fetchone()
    pg_admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with a.lock():
        a.begin([entry("m", entry_id="after-restart")])
    assert [e.entry_id for e in b.pending()] == ["after-restart"]


def test_engine_uses_postgres_history_and_pgvector(pg_config: dict[str, Any]) -> None:
    """Memory end to end on Postgres: two engines (servers) share store, history and lock."""
    from memstack.memory import Memory

    cfg = {
        "vector_store": {"provider": "pgvector", "config": pg_config},
        "embedder": {"provider": "hashing", "config": {}},
        "history_store": {"provider": "postgres", "config": pg_config},
    }
    one, two = Memory(cfg), Memory(cfg)
    try:
        added = one.add("I like green tea", user_id="alice", infer=False)
        mem_id = added.results[0].id
        found = two.search("green tea", user_id="alice")
        assert [m.id for m in found.results] == [mem_id]
        assert two.search("green tea", user_id="bob").results == []
        two.update(mem_id, "I like black coffee")
        assert [h.event for h in one.history(mem_id)] == ["ADD", "UPDATE"]
        assert one.get(mem_id).memory == "I like black coffee"
    finally:
        one.close()
        two.close()
