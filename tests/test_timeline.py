"""Memories over time (issue 20): message time, validity, supersession, as-of reads, expiry,
explanations, and data written before any of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from memstack import Memory
from memstack.cli.main import main as cli_main
from memstack.errors import InvalidInput
from memstack.models import Record
from memstack.payload import content_hash, memory_id, scope_of
from memstack.timeline import FOREVER_MS, valid_at
from memstack_contract.fakes.scripted_llm import ScriptedLLM
from tests import belief_revision


def _moves(memory: Memory, llm: ScriptedLLM) -> tuple[str, str]:
    """Maya lives in Lisbon (said 2023-01-10), then moves to Porto (said 2025-03-01)."""
    llm.responses = [json.dumps({"facts": ["Maya lives in Lisbon"]}),
                     json.dumps({"memory": [{"id": "a", "text": "Maya lives in Lisbon",
                                             "event": "ADD"}]}),
                     json.dumps({"facts": ["Maya lives in Porto"]}),
                     json.dumps({"memory": [{"id": "0", "text": "Maya lives in Porto",
                                             "event": "UPDATE"}]})]
    first = memory.add("I live in Lisbon", user_id="maya", timestamp="2023-01-10T09:00:00Z")
    second = memory.add("I moved to Porto", user_id="maya",
                        timestamp=datetime(2025, 3, 1, 12, tzinfo=UTC))
    return first.results[0].id, second.results[0].id


def test_llm_update_keeps_the_old_version_as_the_past(base_config: dict[str, Any]) -> None:
    llm = ScriptedLLM(responses=[])
    m = Memory(base_config, llm=llm)
    lisbon, porto = _moves(m, llm)
    assert lisbon != porto
    now = [i.memory for i in m.search("where does Maya live", user_id="maya").results]
    assert now == ["Maya lives in Porto"]
    assert [i.memory for i in m.get_all(user_id="maya").results] == ["Maya lives in Porto"]
    then = m.search("where does Maya live", user_id="maya", as_of="2024-06-01").results
    assert [i.memory for i in then] == ["Maya lives in Lisbon"]
    assert m.get_all(user_id="maya", as_of="2022-01-01").results == []
    every = {i.memory: i for i in m.get_all(user_id="maya", include_superseded=True).results}
    old, new = every["Maya lives in Lisbon"], every["Maya lives in Porto"]
    assert (old.valid_from, old.valid_until) == ("2023-01-10T09:00:00.000000+00:00",
                                                 "2025-03-01T12:00:00.000000+00:00")
    assert old.superseded_by == porto and new.supersedes == lisbon and new.valid_until is None
    assert new.said_at == new.valid_from == "2025-03-01T12:00:00.000000+00:00"
    assert new.created_at > "2026"  # stored now, said earlier
    assert [(h.event, h.new_memory) for h in m.history(lisbon)] == [
        ("ADD", "Maya lives in Lisbon"), ("UPDATE", "Maya lives in Porto")]
    assert [h.event for h in m.history(porto)] == ["ADD"]
    # the LLM reconciles only against what holds now: the past version is not offered
    llm.responses = [json.dumps({"facts": ["Maya likes tea"]}),
                     json.dumps({"memory": [{"id": "n", "text": "Maya likes tea",
                                             "event": "ADD"}]})]
    m.add("I like tea", user_id="maya")
    offered = json.loads(llm.calls[-1]["messages"][-1].content)["existing_memories"]
    assert [e["text"] for e in offered] == ["Maya lives in Porto"]


def test_moving_back_makes_the_old_text_current_again(base_config: dict[str, Any]) -> None:
    llm = ScriptedLLM(responses=[])
    m = Memory(base_config, llm=llm)
    lisbon, porto = _moves(m, llm)
    llm.responses = [json.dumps({"facts": ["Maya lives in Lisbon"]}),
                     json.dumps({"memory": [{"id": "0", "text": "Maya lives in Lisbon",
                                             "event": "UPDATE"}]})]
    back = m.add("Back in Lisbon!", user_id="maya", timestamp="2025-09-01").results[0]
    assert back.id not in (lisbon, porto) and back.event == "UPDATE"
    assert [i.memory for i in m.get_all(user_id="maya").results] == ["Maya lives in Lisbon"]
    assert len(m.get_all(user_id="maya", include_superseded=True).results) == 3


def test_llm_delete_closes_instead_of_removing(base_config: dict[str, Any]) -> None:
    llm = ScriptedLLM(responses=[json.dumps({"facts": ["Maya is no longer a nurse"]}),
                                 json.dumps({"memory": [{"id": "0", "event": "DELETE"}]})])
    m = Memory(base_config, llm=llm)
    nurse = m.add("Maya is a nurse", user_id="maya", infer=False,
                  timestamp="2020-01-01").results[0].id
    event = m.add("I quit", user_id="maya", timestamp="2024-05-01").results[0]
    assert (event.event, event.id) == ("DELETE", nurse)
    assert m.get_all(user_id="maya").results == []
    assert [i.memory for i in m.get_all(user_id="maya", as_of="2023-01-01").results] == [
        "Maya is a nurse"]
    assert m.get(nurse).valid_until == "2024-05-01T00:00:00.000000+00:00"
    assert [h.event for h in m.history(nurse)] == ["ADD", "DELETE"]


def test_plain_update_is_a_correction_and_supersede_is_a_change(
        base_config: dict[str, Any]) -> None:
    m = Memory(base_config)
    rid = m.add("Maya has a dog named Boltt", user_id="maya", infer=False).results[0].id
    m.update(rid, "Maya has a dog named Bolt")
    every = m.get_all(user_id="maya", include_superseded=True).results
    assert [(i.id, i.memory, i.valid_until) for i in every] == [
        (rid, "Maya has a dog named Bolt", None)]
    event = m.update(rid, "Maya has two dogs", supersede=True, timestamp="2025-06-01")
    assert event.supersedes == rid and event.id != rid
    assert [i.memory for i in m.get_all(user_id="maya").results] == ["Maya has two dogs"]
    assert m.get(rid).superseded_by == event.id
    assert [(h.event, h.new_memory) for h in m.history(rid)] == [
        ("ADD", "Maya has a dog named Boltt"), ("UPDATE", "Maya has a dog named Bolt"),
        ("UPDATE", "Maya has two dogs")]
    with pytest.raises(InvalidInput, match="not current"):
        m.update(rid, "Maya has three dogs", supersede=True)


def test_message_timestamps_per_message_and_errors(base_config: dict[str, Any]) -> None:
    m = Memory(base_config)
    out = m.add([{"role": "user", "content": "I ran a marathon", "timestamp": "2019-04-07"},
                 {"role": "user", "content": "I ran another one"}], user_id="u", infer=False,
                timestamp=datetime(2021, 5, 2, 8, 0))  # naive: UTC
    a, b = (m.get(e.id) for e in out.results)
    assert a.said_at == "2019-04-07T00:00:00.000000+00:00"
    assert b.said_at == b.valid_from == "2021-05-02T08:00:00.000000+00:00"
    with pytest.raises(InvalidInput, match=r"messages\[0\]\.timestamp"):
        m.add([{"role": "user", "content": "x", "timestamp": "yesterday"}], user_id="u",
              infer=False)
    with pytest.raises(InvalidInput, match="expires_at"):
        m.add("x", user_id="u", infer=False, expires_at=17)
    with pytest.raises(InvalidInput, match="as_of"):
        m.search("x", user_id="u", as_of="not a date")
    with pytest.raises(InvalidInput, match="contradict"):
        m.get_all(user_id="u", as_of="2020-01-01", include_superseded=True)


def test_expiry_hides_and_prune_deletes_idempotently(base_config: dict[str, Any],
                                                     tmp_path, monkeypatch, capsys) -> None:
    m = Memory(base_config)
    past = datetime.now(UTC) - timedelta(minutes=1)
    gone = m.add("a one-time code 1234", user_id="u", infer=False,
                 expires_at=past).results[0].id
    kept = m.add("a code valid next year", user_id="u", infer=False,
                 expires_at=datetime.now(UTC) + timedelta(days=365)).results[0].id
    assert [i.id for i in m.get_all(user_id="u").results] == [kept]
    assert [i.id for i in m.search("code", user_id="u").results] == [kept]
    assert {i.id for i in m.get_all(user_id="u", include_expired=True).results} == {gone, kept}
    assert [e.id for e in m.prune()] == [gone]
    assert m.prune() == []
    assert m.get(gone) is None and [h.event for h in m.history(gone)] == ["ADD", "DELETE"]
    m.close()
    # the CLI command on a persistent store: pruned once, then nothing left to prune
    config = {**base_config, "vector_store": {"provider": "chroma",
                                              "config": {"path": str(tmp_path / "chroma")}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with Memory(config) as m2:
        m2.add("another code", user_id="u", infer=False, expires_at=past)
    args = ["prune", "--config", str(tmp_path / "config.json")]
    assert cli_main(args) == 0
    assert "pruned 1 expired" in capsys.readouterr().out
    assert cli_main(args) == 0
    assert "pruned 0 expired" in capsys.readouterr().out


def test_explain_gives_every_score_and_the_reason(base_config: dict[str, Any]) -> None:
    m = Memory(base_config)
    m.add(["Maya lives in Porto", "Maya likes green tea"], user_id="maya", infer=False,
          timestamp="2024-01-01")
    plain = m.search("where does Maya live", user_id="maya").results
    assert all(i.explanation is None for i in plain)
    hits = m.search("where does Maya live", user_id="maya", explain=True,
                    filters={"NOT": {"role": "assistant"}}).results
    top = hits[0].explanation
    assert top is not None and top["vector_similarity"] == hits[0].score
    assert top["fused_score"] is not None and top["keyword_score"] is not None
    assert top["rerank_score"] is None and top["mode"].startswith("hybrid")
    passed = " | ".join(top["passed"])
    assert "user_id='maya'" in passed and "still current" in passed and "no expiry" in passed
    # fused scores order the hits
    fused = [h.explanation["fused_score"] for h in hits]
    assert fused == sorted(fused, reverse=True)


def test_data_written_before_validity_is_current_from_created_at(
        base_config: dict[str, Any]) -> None:
    """Records in the old payload layout (no valid_* fields) read as current since
    created_at; superseding one closes it like any other."""
    m = Memory(base_config)
    old_layout = {"text": "Maya lives in Lisbon", "hash": content_hash("Maya lives in Lisbon"),
                  "user_id": "maya", "created_at": "2023-05-01T00:00:00.000000+00:00"}
    rid = memory_id(scope_of(old_layout), old_layout["hash"])
    m.store.upsert([Record(id=rid, vector=m.embedder.embed([old_layout["text"]])[0],
                           payload=old_layout)])
    m.searcher.keywords.sync(m.store)  # as when a store is opened
    assert [i.memory for i in m.search("Lisbon", user_id="maya").results] == [
        "Maya lives in Lisbon"]
    item = m.get_all(user_id="maya").results[0]
    assert (item.valid_from, item.valid_until) == (old_layout["created_at"], None)
    assert m.get_all(user_id="maya", as_of="2023-01-01").results == []
    assert len(m.search("Lisbon", user_id="maya", as_of="2024-01-01").results) == 1
    new = m.update(rid, "Maya lives in Porto", supersede=True, timestamp="2025-01-01")
    assert [i.memory for i in m.get_all(user_id="maya").results] == ["Maya lives in Porto"]
    assert [i.memory for i in m.get_all(user_id="maya", as_of="2024-01-01").results] == [
        "Maya lives in Lisbon"]
    assert m.get(rid).superseded_by == new.id


def test_valid_at_is_two_ordinary_range_comparisons(base_config: dict[str, Any]) -> None:
    llm = ScriptedLLM(responses=[])
    m = Memory(base_config, llm=llm)
    _moves(m, llm)
    f = valid_at("2024-06-01T00:00:00Z")
    assert f == {"valid_from_ts": {"lte": 1717200000000}, "valid_until_ts": {"gt": 1717200000000}}
    got = m.get_all(user_id="maya", filters=f, include_superseded=True).results
    assert [i.memory for i in got] == ["Maya lives in Lisbon"]
    current = m.store.list(filters=None)
    assert sorted(r.payload["valid_until_ts"] for r in current)[-1] == FOREVER_MS


def test_belief_revision_set_on_the_reference_store(base_config: dict[str, Any]) -> None:
    m = Memory(base_config, llm=ScriptedLLM(handler=belief_revision.handler))
    belief_revision.play(m)
    passed, total, failures = belief_revision.score(m)
    assert failures == [] and passed == total == 49


def test_a_store_without_not_gets_the_view_checked_in_python(base_config: dict[str, Any]) -> None:
    """A third-party store that cannot translate NOT still answers now / as-of questions: the
    engine leaves the time filter out of the store query and checks the results itself."""
    from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig

    store = InMemoryVectorStore(MemoryStoreConfig(collection="c", dimension=64))
    store.capabilities = store.capabilities - {"filter:not"}  # type: ignore[misc]
    m = Memory(base_config, vector_store=store,
               llm=ScriptedLLM(handler=belief_revision.handler))
    belief_revision.play(m)
    passed, total, failures = belief_revision.score(m)
    assert failures == [] and passed == total == 49


def test_an_older_conversation_imported_later_becomes_history(
        base_config: dict[str, Any]) -> None:
    """Lisbon (2023) → Porto (2025) is stored; then a 2021 conversation ("I live in Coimbra")
    is imported and the LLM calls it an UPDATE of Porto. It was said before Porto and Lisbon
    began: it is kept as history until Lisbon began, and Porto stays current."""
    llm = ScriptedLLM(responses=[])
    m = Memory(base_config, llm=llm)
    lisbon, porto = _moves(m, llm)
    llm.responses = [json.dumps({"facts": ["Maya lives in Coimbra"]}),
                     json.dumps({"memory": [{"id": "0", "text": "Maya lives in Coimbra",
                                             "event": "UPDATE"}]}),
                     json.dumps({"facts": ["Maya no longer lives in Porto"]}),
                     json.dumps({"memory": [{"id": "0", "event": "DELETE"}]})]
    event = m.add("I live in Coimbra", user_id="maya", timestamp="2021-05-01").results[0]
    assert event.event == "ADD"
    assert [i.memory for i in m.get_all(user_id="maya").results] == ["Maya lives in Porto"]
    coimbra = m.get(event.id)
    assert (coimbra.valid_from, coimbra.valid_until, coimbra.superseded_by) == (
        "2021-05-01T00:00:00.000000+00:00", "2023-01-10T09:00:00.000000+00:00", lisbon)
    for when, where in (("2022-01-01", "Coimbra"), ("2024-01-01", "Lisbon"),
                        ("2025-06-01", "Porto")):
        assert [i.memory for i in m.get_all(user_id="maya", as_of=when).results] == [
            f"Maya lives in {where}"]
    # an old "no longer" about a fact that began later changes nothing
    out = m.add("I moved out", user_id="maya", timestamp="2020-01-01").results
    assert [e.event for e in out] == ["NONE"]
    assert [i.id for i in m.get_all(user_id="maya").results] == [porto]


def test_hooks_hear_one_update_for_a_supersession(base_config: dict[str, Any],
                                                  fresh_plugins) -> None:
    import memstack

    heard: list[tuple[str, str | None]] = []

    class Audit:
        @memstack.hookimpl
        def memstack_after_change(self, ctx):  # type: ignore[no-untyped-def]
            heard.append((ctx.event.event, ctx.event.supersedes))

    memstack.register(Audit(), name="audit-time")
    m = Memory(base_config)
    rid = m.add("Maya lives in Lisbon", user_id="maya", infer=False).results[0].id
    m.update(rid, "Maya lives in Porto", supersede=True)
    assert heard == [("ADD", None), ("UPDATE", rid)]
