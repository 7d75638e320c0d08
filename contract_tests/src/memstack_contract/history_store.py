"""`HistoryStoreContract`: two-phase history writes — begin, commit/discard, pending, reopen.

The author's `provider_config` must give each test its own storage (a `tmp_path` file, or a table
or schema named with the `unique_name` fixture), so tests can run in parallel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from typing import Any, ClassVar

import pytest

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.models import HistoryEntry
from memstack.protocols import HistoryStore
from memstack_contract import data, guard
from memstack_contract.base import Builder, ContractBase, build_source, capabilities_of
from memstack_contract.reasons import NOT_REGISTERED
from memstack_contract.vector_store_lifecycle import run_contending
from memstack_contract.versioning import contract


def entry(n: int, memory_id: str, event: str = "ADD", **extra: Any) -> HistoryEntry:
    fields: dict[str, Any] = {
        "entry_id": f"e-{memory_id}-{n}",
        "memory_id": memory_id,
        "event": event,
        "new_memory": f"fact {n} about {memory_id}",
        "new_hash": f"h{n}",
        "created_at": f"2024-07-01T12:00:{n:02d}+00:00",
        "writer": "contract-suite",
    }
    fields.update(extra)
    return HistoryEntry(**fields)


def _ids(entries: list[HistoryEntry]) -> list[str]:
    return [e.entry_id for e in entries]


@guard.suite_class
class HistoryStoreContract(ContractBase):
    """The history store contract. Set `provider` and a per-test `provider_config` fixture."""

    kind: ClassVar[str] = str(Kind.HISTORY_STORE)
    reset_on_teardown: ClassVar[bool] = True

    @pytest.fixture
    def unique_name(self) -> str:
        """A fresh identifier for authors whose storage is a table or schema on a server."""
        return f"ct_{uuid.uuid4().hex[:16]}"

    @pytest.fixture
    def store(self, make_provider: Builder) -> Any:
        return make_provider()

    @contract(since=1, group="history")
    def test_empty(self, store: Any) -> None:
        assert isinstance(store, HistoryStore), "does not implement memstack HistoryStore"
        assert store.pending() == []
        assert store.history("nothing") == []
        assert store.memory_ids() == []

    @contract(since=1, group="history")
    def test_pending_until_committed(self, store: Any) -> None:
        first = [entry(1, "m1"), entry(2, "m2")]
        store.begin(first)
        pending = store.pending()
        assert sorted(_ids(pending)) == sorted(_ids(first))
        assert all(e.committed is False for e in pending)
        assert store.history("m1") == [], "history() shows an uncommitted change"
        assert store.memory_ids() == []
        store.commit([first[0].entry_id])
        assert _ids(store.pending()) == [first[1].entry_id]
        [done] = store.history("m1")
        assert done.entry_id == first[0].entry_id and done.committed is True
        assert store.memory_ids() == ["m1"]

    @contract(since=1, group="history")
    def test_discard_removes_pending(self, store: Any) -> None:
        store.begin([entry(1, "m1"), entry(2, "m1", "UPDATE", old_memory="fact 1 about m1")])
        store.discard(["e-m1-2"])
        assert _ids(store.pending()) == ["e-m1-1"]
        store.commit(["e-m1-1"])
        store.discard(["e-m1-1"])  # committed history is never discarded
        assert _ids(store.history("m1")) == ["e-m1-1"]
        assert store.pending() == []

    @contract(since=1, group="history")
    def test_history_keeps_order_and_fields(self, store: Any) -> None:
        entries = [
            entry(1, "m", "ADD", actor_id="alice", role="user"),
            entry(2, "m", "UPDATE", old_memory="fact 1 about m", new_memory="記憶 🧠 " + "x" * 5000,
                  old_hash="h1", new_hash="h2"),
            entry(3, "m", "DELETE", old_memory="記憶 🧠", new_memory=None, new_hash=None,
                  old_hash="h2"),
        ]
        for e in entries:  # one change at a time, as the engine writes them
            store.begin([e])
            store.commit([e.entry_id])
        got = store.history("m")
        assert _ids(got) == _ids(entries), "history() must list changes in the order written"
        for want, have in zip(entries, got, strict=True):
            assert have.model_dump() == {**want.model_dump(), "committed": True}

    @contract(since=1, group="history")
    def test_memory_ids_lists_committed_memories(self, store: Any) -> None:
        store.begin([entry(1, "a"), entry(1, "b"), entry(2, "a"), entry(1, "c")])
        store.commit(["e-a-1", "e-b-1", "e-a-2"])
        assert sorted(store.memory_ids()) == ["a", "b"]

    @contract(since=1, group="history")
    def test_reset(self, store: Any) -> None:
        store.begin([entry(1, "a"), entry(2, "b")])
        store.commit(["e-a-1"])
        store.reset()
        assert store.pending() == [] and store.history("a") == [] and store.memory_ids() == []
        store.begin([entry(3, "a")])  # still usable
        assert _ids(store.pending()) == ["e-a-3"]

    @contract(since=1, group="persistence")
    def test_survives_reopen(self, make_provider: Builder) -> None:
        store = make_provider()
        self.require(capabilities_of(store, None), caps.PERSISTENT)
        store.begin([entry(1, "a"), entry(2, "a", "UPDATE", new_memory=data.LARGE_TEXT[:2000])])
        store.commit(["e-a-1"])
        make_provider.close(store)
        again = make_provider()
        assert _ids(again.history("a")) == ["e-a-1"]
        assert _ids(again.pending()) == ["e-a-2"], (
            "pending entries must survive a reopen: they are the evidence a crash leaves"
        )
        again.commit(["e-a-2"])
        assert _ids(again.history("a")) == ["e-a-1", "e-a-2"]

    @contract(since=1, group="concurrency")
    def test_processes_write_at_once(
        self, make_provider: Builder, provider_spec, instance_config: dict[str, Any]
    ) -> None:
        store = make_provider()
        self.require(capabilities_of(store, None), caps.MULTIPROCESS)
        spec = self.registered(provider_spec)
        script = textwrap.dedent(
            """
            import json, sys
            from memstack.models import HistoryEntry
            from memstack.registry import get_registry
            config, name, k = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
            store = get_registry().build("history_store", name, config)
            for n in range(20):
                e = HistoryEntry(entry_id=f"p{k}-{n}", memory_id=f"m{k}", event="ADD",
                                 new_memory="x", created_at="2024-07-01T00:00:00+00:00")
                store.begin([e])
                store.commit([e.entry_id])
            store.close()
            """
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, json.dumps(instance_config), spec.name, str(k)],
                stderr=subprocess.PIPE, text=True,
            )
            for k in range(2)
        ]
        for n in range(20):
            store.begin([entry(n, "parent")])
            store.commit([f"e-parent-{n}"])
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"writer process failed:\n{err[-3000:]}"
        assert sorted(store.memory_ids()) == ["m0", "m1", "parent"]
        assert [len(store.history(m)) for m in ("m0", "m1", "parent")] == [20, 20, 20]

    @contract(since=3, group="history")
    def test_history_order_is_write_order(self, store: Any) -> None:
        """Clocks go backwards (NTP, another machine's writer): history is the order of writes,
        not of `created_at`."""
        stamps = ["2024-07-01T12:00:30+00:00", "2024-07-01T12:00:10+00:00",
                  "2024-07-01T12:00:10+00:00", "2023-01-01T00:00:00+00:00",
                  "2024-07-01T12:00:20+00:00"]
        entries = [entry(n, "m", "ADD" if n == 0 else "UPDATE", created_at=ts)
                   for n, ts in enumerate(stamps)]
        for e in entries:
            store.begin([e])
            store.commit([e.entry_id])
        assert _ids(store.history("m")) == _ids(entries), (
            "history() must list changes in the order written, whatever their created_at")
        batch = [entry(n, "b", created_at=ts) for n, ts in enumerate(reversed(stamps))]
        store.begin(batch)
        store.commit([e.entry_id for e in reversed(batch)])
        assert _ids(store.history("b")) == _ids(batch), (
            "entries begun together are listed in the order given to begin()")

    @contract(since=3, group="concurrency")
    def test_processes_contend(
        self, make_provider: Builder, provider_spec: Any, provider_factory: Any,
        instance_config: dict[str, Any],
    ) -> None:
        """Two processes × 300 begin/commit pairs, started together, while this one writes."""
        store = make_provider()
        self.require(capabilities_of(store, None), caps.MULTIPROCESS)
        source = build_source(self.kind, provider_spec, provider_factory)
        if source is None:
            pytest.skip(NOT_REGISTERED)

        def parent() -> None:
            for n in range(100):
                store.begin([entry(n, "parent")])
                store.commit([f"e-parent-{n}"])

        failures = run_contending(source, instance_config, _HISTORY_WRITER, parent)
        assert not failures, failures
        assert sorted(store.memory_ids()) == ["m0", "m1", "parent"]
        assert [len(store.history(m)) for m in ("m0", "m1", "parent")] == [300, 300, 100]
        assert _ids(store.history("m1")) == [f"p1-{n}" for n in range(300)]


_HISTORY_WRITER = """
for n in range(300):
    e = HistoryEntry(entry_id=f"p{k}-{n}", memory_id=f"m{k}", event="ADD", new_memory="x",
                     created_at="2024-07-01T00:00:00+00:00")
    store.begin([e])
    store.commit([e.entry_id])
"""
