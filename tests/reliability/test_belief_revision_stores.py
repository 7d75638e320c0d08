"""The belief-revision set (tests/belief_revision.py, issue 20) on every in-tree store: now
questions see only current facts, as-of questions the fact valid then, a correction makes no
past version — 100% required. It exercises the time filters each store must translate: numeric
ranges on the ``*_ts`` fields and NOT over records missing a field."""

from __future__ import annotations

import pytest

from memstack import Memory
from memstack_contract.fakes.scripted_llm import ScriptedLLM
from tests import belief_revision
from tests.reliability.conftest import STORE_NAMES, memory_config


@pytest.mark.parametrize("store", STORE_NAMES)
def test_belief_revision_on_every_store(store: str, store_config, tmp_path, figures) -> None:
    config = memory_config(store_config(store), tmp_path)
    with Memory(config, llm=ScriptedLLM(handler=belief_revision.handler)) as m:
        belief_revision.play(m)
        passed, total, failures = belief_revision.score(m)
    figures("belief_revision", store=store, passed=passed, total=total)
    assert failures == [] and passed == total == 49


@pytest.mark.parametrize("store", STORE_NAMES)
def test_old_payload_layout_reads_as_current_on_every_store(store: str, store_config,
                                                             tmp_path) -> None:
    """Records written before the time fields existed (no valid_*/expires_* keys): current,
    valid from created_at, found by search and lists — NOT(field <= t) must keep records that
    lack the field — and superseded like any other."""
    from memstack.models import Record
    from memstack.payload import content_hash, memory_id, scope_of

    config = memory_config(store_config(store), tmp_path)
    texts = {"Maya lives in Lisbon": "2023-05-01T00:00:00.000000+00:00",
             "Maya works as a nurse": "2024-05-01T00:00:00.000000+00:00"}
    m = Memory(config)
    records = []
    for text, created in texts.items():
        payload = {"text": text, "hash": content_hash(text), "user_id": "maya",
                   "created_at": created}
        records.append(Record(id=memory_id(scope_of(payload), payload["hash"]),
                              vector=m.embedder.embed([text])[0], payload=payload))
    m.store.upsert(records)
    if store == "memory":  # not persistent: the same instance, its keyword side re-synced
        m.searcher.keywords.sync(m.store)
    else:  # reopened, as after an upgrade
        m.close()
        m = Memory(config)
    with m:
        assert {i.memory for i in m.get_all(user_id="maya").results} == set(texts)
        assert {i.memory for i in m.search("Maya", user_id="maya").results} == set(texts)
        assert [i.memory for i in m.get_all(user_id="maya", as_of="2024-01-01").results] == [
            "Maya lives in Lisbon"]
        lisbon = records[0].id
        new = m.update(lisbon, "Maya lives in Porto", supersede=True, timestamp="2025-01-01")
        assert {i.memory for i in m.get_all(user_id="maya").results} == {
            "Maya lives in Porto", "Maya works as a nurse"}
        assert [i.memory for i in m.search("lives", user_id="maya", as_of="2024-01-01",
                                           limit=5).results] == ["Maya lives in Lisbon"]
        assert m.get(lisbon).superseded_by == new.id  # type: ignore[union-attr]
