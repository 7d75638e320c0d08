"""One write path: every way of changing memories writes the record, its history entry and its
event together, stamped by one clock, and new memories go through `insert` on every path."""

from __future__ import annotations

from typing import Any

from memstack import Memory
from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig
from memstack_contract.fakes import ScriptedLLM
from tests.test_engine import decisions, facts


class CountingStore(InMemoryVectorStore):
    """The reference store, counting which write each record went through."""

    def __init__(self, config: MemoryStoreConfig) -> None:
        super().__init__(config)
        self.inserted: list[str] = []
        self.upserted: list[str] = []

    def insert(self, records: Any) -> None:
        self.inserted += [r.id for r in records]
        InMemoryVectorStore.upsert(self, records)  # the reference insert is its upsert

    def upsert(self, records: Any) -> None:
        self.upserted += [r.id for r in records]
        InMemoryVectorStore.upsert(self, records)


def _memory(base_config: dict[str, Any], llm: ScriptedLLM | None = None
            ) -> tuple[Memory, CountingStore]:
    store = CountingStore(MemoryStoreConfig(collection="c", dimension=64))
    return Memory(base_config, vector_store=store, llm=llm), store


def test_llm_adds_are_inserted_and_share_one_timestamp(base_config: dict[str, Any]) -> None:
    llm = ScriptedLLM(responses=[
        facts("Maya lives in Lisbon", "Maya likes tea"),
        decisions({"id": "x", "text": "Maya lives in Lisbon", "event": "ADD"},
                  {"id": "y", "text": "Maya likes tea", "event": "ADD"})])
    m, store = _memory(base_config, llm)
    events = m.add("I live in Lisbon and like tea", user_id="maya").results
    added = [e.id for e in events if e.event == "ADD"]
    assert len(added) == 2 and sorted(store.inserted) == sorted(added)
    assert store.upserted == []
    for rid in added:
        item = m.get(rid)
        assert item is not None
        (entry,) = m.history(rid)
        assert entry.event == "ADD" and entry.created_at == item.created_at


def test_llm_update_and_plain_update_stamp_updated_at_like_the_history(
        base_config: dict[str, Any]) -> None:
    m, store = _memory(base_config, ScriptedLLM(responses=[
        facts("Maya lives in Porto"),
        decisions({"id": "0", "text": "Maya lives in Porto", "event": "UPDATE"})]))
    rid = m.add("Maya lives in Lisbon", user_id="maya", infer=False).results[0].id
    assert store.inserted == [rid]
    events = m.add("I moved to Porto", user_id="maya").results
    assert [(e.event, e.previous_memory) for e in events] == [("UPDATE", "Maya lives in Lisbon")]
    assert store.upserted == [rid]  # an update replaces: never `insert`
    item, history = m.get(rid), m.history(rid)
    assert item is not None and [h.event for h in history] == ["ADD", "UPDATE"]
    assert item.updated_at == history[-1].created_at
    assert item.created_at == history[0].created_at  # creation time kept
    m.update(rid, "Maya lives in Braga")
    item, history = m.get(rid), m.history(rid)
    assert item is not None and item.updated_at == history[-1].created_at


def test_mixed_llm_batch_inserts_new_and_upserts_changed(base_config: dict[str, Any]) -> None:
    m, store = _memory(base_config, ScriptedLLM(responses=[
        facts("Maya lives in Porto", "Maya has a cat"),
        decisions({"id": "0", "text": "Maya lives in Porto", "event": "UPDATE"},
                  {"id": "n", "text": "Maya has a cat", "event": "ADD"})]))
    old = m.add("Maya lives in Lisbon", user_id="maya", infer=False).results[0].id
    store.inserted.clear()
    events = {e.event: e.id for e in m.add("moved; got a cat", user_id="maya").results}
    # the successor is new (insert); the old version is closed in place (upsert)
    assert store.inserted == [events["ADD"], events["UPDATE"]] and store.upserted == [old]
    assert {h.event for h in m.history(events["ADD"])} == {"ADD"}


def test_every_path_records_history_with_the_event(base_config: dict[str, Any]) -> None:
    m, _ = _memory(base_config)
    a, b = (e.id for e in m.add(["one", "two"], user_id="u", infer=False).results)
    m.update(a, "uno")
    m.delete(a)
    m.delete_all(user_id="u")
    assert [h.event for h in m.history(a)] == ["ADD", "UPDATE", "DELETE"]
    assert [h.event for h in m.history(b)] == ["ADD", "DELETE"]
    assert all(h.committed for h in m.history(a) + m.history(b))
