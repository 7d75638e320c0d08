"""The Memory engine on deterministic providers: events, history, isolation, threads, hooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import pytest

import memstack
from memstack import Memory
from memstack.errors import ConfigError, InvalidInput, LLMOutputError, MemoryNotFound, ScopeError
from memstack.models import Record
from memstack_contract.fakes import ScriptedLLM


def facts(*items: str) -> str:
    return json.dumps({"facts": list(items)})


def decisions(*items: dict[str, Any]) -> str:
    return json.dumps({"memory": list(items)})


def snapshot(m: Memory, user: str) -> tuple[list[tuple[str, str]], dict[str, list]]:
    items = sorted((i.id, i.memory) for i in m.get_all(user_id=user).results)
    return items, {i: [h.model_dump() for h in m.history(i)] for i, _ in items}


def test_add_without_llm_stores_text_as_given(memory: Memory) -> None:
    result = memory.add("I like green tea", user_id="alice")
    assert result.inferred is False
    [event] = result.results
    assert event.event == "ADD" and event.memory == "I like green tea"
    item = memory.get(event.id)
    assert item is not None and item.user_id == "alice" and item.memory == "I like green tea"


def test_identical_text_in_same_scope_is_stored_once(memory: Memory) -> None:
    first = memory.add("I like green tea", user_id="alice").results[0]
    again = memory.add("I like green tea", user_id="alice").results[0]
    assert again.event == "NONE" and again.id == first.id
    other = memory.add("I like green tea", user_id="bob").results[0]
    assert other.event == "ADD" and other.id != first.id
    assert len(memory.get_all(user_id="alice").results) == 1


def test_readding_text_of_an_updated_memory_does_not_overwrite_it(memory: Memory) -> None:
    first = memory.add("I live in Lisbon", user_id="a").results[0]
    memory.update(first.id, "I live in Porto")
    again = memory.add("I live in Lisbon", user_id="a").results[0]
    assert again.event == "ADD" and again.id != first.id
    assert memory.get(first.id).memory == "I live in Porto"  # type: ignore[union-attr]
    dup = memory.add("I live in Porto", user_id="a").results[0]
    assert dup.event == "NONE" and dup.id == first.id


def test_infer_events_add_update_delete_none(base_config: dict) -> None:
    llm = ScriptedLLM(responses=[
        facts("Alice lives in Lisbon", "Alice has a cat", "Alice likes jazz"),
        decisions({"id": "new1", "text": "Alice lives in Lisbon", "event": "ADD"},
                  {"id": "new2", "text": "Alice has a cat", "event": "ADD"},
                  {"id": "new3", "text": "Alice likes jazz", "event": "ADD"}),
    ])
    m = Memory(base_config, llm=llm)
    first = m.add("I live in Lisbon, have a cat and like jazz", user_id="alice")
    assert first.inferred and [e.event for e in first.results] == ["ADD"] * 3
    ids = {e.memory: e.id for e in first.results}

    def second_round(messages, schema):  # type: ignore[no-untyped-def]
        if "facts" in json.dumps(schema):
            return facts("Alice moved to Porto", "Alice's cat died")
        existing = json.loads(messages[-1].content)["existing_memories"]
        by_text = {e["text"]: e["id"] for e in existing}
        return decisions(
            {"id": by_text["Alice lives in Lisbon"], "text": "Alice lives in Porto",
             "event": "UPDATE", "old_memory": "Alice lives in Lisbon"},
            {"id": by_text["Alice has a cat"], "event": "DELETE"},
            {"id": by_text["Alice likes jazz"], "event": "NONE"},
            {"id": "x", "text": "Alice moved in 2024", "event": "ADD"},
        )

    llm.handler = second_round
    second = m.add("I moved to Porto; sadly my cat died", user_id="alice")
    events = {e.event: e for e in second.results}
    assert set(events) == {"ADD", "UPDATE", "DELETE", "NONE"}
    assert events["UPDATE"].previous_memory == "Alice lives in Lisbon"
    assert events["UPDATE"].memory == "Alice lives in Porto"
    # the new text is a new current version; the old one is kept as the past (issue 20)
    assert events["UPDATE"].supersedes == ids["Alice lives in Lisbon"]
    assert m.get(events["UPDATE"].id).memory == "Alice lives in Porto"
    assert m.get(ids["Alice lives in Lisbon"]).superseded_by == events["UPDATE"].id
    assert events["DELETE"].id == ids["Alice has a cat"]
    assert m.get(ids["Alice has a cat"]).valid_until is not None
    assert ids["Alice has a cat"] not in {i.id for i in m.get_all(user_id="alice").results}
    hist = m.history(ids["Alice lives in Lisbon"])
    assert [(h.event, h.old_memory, h.new_memory) for h in hist] == [
        ("ADD", None, "Alice lives in Lisbon"),
        ("UPDATE", "Alice lives in Lisbon", "Alice lives in Porto")]
    assert [h.event for h in m.history(ids["Alice has a cat"])] == ["ADD", "DELETE"]


def test_llm_is_given_short_integer_ids_never_real_ids(base_config: dict) -> None:
    m = Memory(base_config, llm=ScriptedLLM(responses=[]))
    stored = m.add("Bob plays chess", user_id="bob", infer=False).results[0]
    seen: list[str] = []

    def handler(messages, schema):  # type: ignore[no-untyped-def]
        if "facts" in json.dumps(schema):
            return facts("Bob plays chess well")
        seen.append(messages[-1].content)
        return decisions({"id": "0", "text": "Bob plays chess well", "event": "UPDATE"})

    m.llm.handler = handler  # type: ignore[union-attr]
    out = m.add("I play chess well", user_id="bob").results
    assert stored.id not in seen[0]
    assert json.loads(seen[0])["existing_memories"][0]["id"] == "0"
    assert out[0].supersedes == stored.id and out[0].event == "UPDATE"


def test_invalid_llm_output_retries_once_then_fails_without_writes(base_config: dict) -> None:
    llm = ScriptedLLM(responses=["not json", "{\"facts\": 3}"])
    m = Memory(base_config, llm=llm)
    m.add("Carol is a pilot", user_id="carol", infer=False)
    before = snapshot(m, "carol")
    with pytest.raises(LLMOutputError) as err:
        m.add("I am no longer a pilot", user_id="carol")
    assert err.value.raw_output == "{\"facts\": 3}"
    assert len(llm.calls) == 2
    assert "not valid" in llm.calls[1]["messages"][-1].content  # the retry says what was wrong
    assert snapshot(m, "carol") == before


def test_decision_with_unknown_id_is_invalid_and_writes_nothing(base_config: dict) -> None:
    bad = decisions({"id": "99", "text": "x", "event": "UPDATE"},
                    {"id": "n", "text": "Carol flies gliders", "event": "ADD"})
    llm = ScriptedLLM(responses=[facts("Carol flies gliders"), bad, bad])
    m = Memory(base_config, llm=llm)
    m.add("Carol is a pilot", user_id="carol", infer=False)
    before = snapshot(m, "carol")
    with pytest.raises(LLMOutputError, match="not one of the given ids"):
        m.add("I fly gliders", user_id="carol")
    assert snapshot(m, "carol") == before


def test_retry_recovers_from_one_bad_answer(base_config: dict) -> None:
    llm = ScriptedLLM(responses=["```json\n{oops", facts("Dan is tall"),
                                 decisions({"id": "a", "text": "Dan is tall", "event": "ADD"})])
    m = Memory(base_config, llm=llm)
    out = m.add("I'm tall", user_id="dan")
    assert [e.event for e in out.results] == ["ADD"]


def test_infer_true_without_llm_is_a_clear_error(memory: Memory) -> None:
    with pytest.raises(ConfigError, match="needs an LLM"):
        memory.add("x", user_id="u", infer=True)


def test_infer_defaults_to_llm_presence(base_config: dict) -> None:
    llm = ScriptedLLM(responses=[facts()])
    m = Memory(base_config, llm=llm)
    assert m.add("hello", user_id="u").inferred is True
    assert m.add("hello", user_id="u", infer=False).inferred is False


def test_scope_isolation(memory: Memory) -> None:
    a = memory.add(["alice secret one", "alice secret two"], user_id="alice").results
    memory.add(["bob note"], user_id="bob")
    hits = memory.search("secret", user_id="bob").results
    assert all(h.user_id == "bob" for h in hits) and len(hits) == 1
    assert {i.user_id for i in memory.get_all(user_id="bob").results} == {"bob"}
    memory.delete_all(user_id="bob")
    assert memory.get_all(user_id="bob").results == []
    assert {i.id for i in memory.get_all(user_id="alice").results} == {e.id for e in a}


@pytest.mark.parametrize("bad", [{"ne": "x"}, {"$ne": "x"}, ["alice"], 3, "", "   "])
def test_scope_values_must_be_plain_strings(memory: Memory, bad: object) -> None:
    memory.add("something", user_id="alice")
    with pytest.raises(ScopeError):
        memory.search("something", user_id=bad)  # type: ignore[arg-type]
    with pytest.raises(ScopeError):
        memory.delete_all(user_id=bad)  # type: ignore[arg-type]
    assert len(memory.get_all(user_id="alice").results) == 1


def test_operations_without_scope_are_refused(memory: Memory) -> None:
    for call in (lambda: memory.add("x"), lambda: memory.search("x"),
                 lambda: memory.get_all(), lambda: memory.delete_all()):
        with pytest.raises(ScopeError, match="at least one of user_id"):
            call()


def test_filters_combine_with_scope(memory: Memory) -> None:
    memory.add("likes tea", user_id="u", metadata={"topic": "food", "year": 2023})
    memory.add("likes tennis", user_id="u", metadata={"topic": "sport", "year": 2024})
    memory.add("likes tapas", user_id="v", metadata={"topic": "food", "year": 2024})
    got = memory.search("likes", user_id="u", filters={"topic": "food"}).results
    assert [g.memory for g in got] == ["likes tea"]
    got = memory.get_all(user_id="u", filters={"year": {"gte": 2024}}).results
    assert [g.memory for g in got] == ["likes tennis"]
    assert got[0].metadata == {"topic": "sport", "year": 2024}


@pytest.mark.parametrize("meta", [{"a": {"nested": 1}}, {"user_id": "x"}, {"a": None},
                                  {"bad key": 1}, {"a": float("inf")}, "not a dict"])
def test_bad_metadata_is_refused(memory: Memory, meta: object) -> None:
    with pytest.raises(InvalidInput):
        memory.add("x", user_id="u", metadata=meta)  # type: ignore[arg-type]
    assert memory.get_all(user_id="u").results == []


def test_update_and_delete_missing_ids(memory: Memory) -> None:
    with pytest.raises(MemoryNotFound):
        memory.update("nope", "text")
    with pytest.raises(MemoryNotFound):
        memory.delete("nope")
    assert memory.get("nope") is None


def test_history_survives_delete(memory: Memory) -> None:
    e = memory.add("temporary", user_id="u").results[0]
    memory.update(e.id, "temporary 2")
    memory.delete(e.id)
    assert [h.event for h in memory.history(e.id)] == ["ADD", "UPDATE", "DELETE"]


def test_messages_forms(memory: Memory) -> None:
    r = memory.add([{"role": "system", "content": "ignored"},
                    {"role": "user", "content": "I run"},
                    {"role": "assistant", "content": "Nice"}], user_id="u")
    assert [e.memory for e in r.results] == ["I run", "Nice"]
    assert memory.get(r.results[1].id).role == "assistant"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        memory.add([{"role": "wizard", "content": "x"}], user_id="u")
    with pytest.raises(InvalidInput):
        memory.add([], user_id="u")


def test_batch_add_embeds_in_batches(base_config: dict) -> None:
    m = Memory({**base_config, "batch_size": 7})
    calls: list[int] = []
    real = m.embedder.embed

    def counting(texts, kind="document"):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return real(texts, kind=kind)

    m.embedder.embed = counting  # type: ignore[method-assign]
    texts = [f"memory number {i}" for i in range(50)] + ["memory number 3"]
    out = m.add(texts, user_id="u", progress=True)
    assert len(out.results) == 51 and out.results[-1].event == "NONE"
    assert max(calls) <= 7 and sum(calls) == 50
    assert len(m.get_all(user_id="u", limit=100).results) == 50


def test_threshold_and_rerank(base_config: dict) -> None:
    m = Memory({**base_config, "reranker": {"provider": "token-overlap"}})
    m.add(["the cat sat on the mat", "dogs bark loudly", "a cat and a dog"], user_id="u")
    ranked = m.search("cat dog", user_id="u", limit=2).results
    assert ranked[0].memory == "a cat and a dog" and ranked[0].rerank_score == 1.0
    plain = m.search("cat dog", user_id="u", rerank=False, threshold=0.99).results
    assert plain == []
    with pytest.raises(ConfigError):
        Memory(base_config).search("x", user_id="u", rerank=True)


def test_concurrent_adds_from_8_threads_lose_nothing(memory: Memory) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                memory.add(f"thread {n} fact {i}", user_id="u")
                memory.add("shared fact everyone adds", user_id="u")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    texts = [i.memory for i in memory.get_all(user_id="u", limit=1000).results]
    assert len(texts) == 8 * 25 + 1 and texts.count("shared fact everyone adds") == 1
    for i in memory.get_all(user_id="u", limit=1000).results:
        assert [h.event for h in memory.history(i.id)] == ["ADD"]


class Redactor:
    @memstack.hookimpl
    def memstack_before_add(self, ctx):  # type: ignore[no-untyped-def]
        for m in ctx.messages:
            m.content = m.content.replace("alice@example.com", "[email]")


class Audit:
    def __init__(self) -> None:
        self.events: list[str] = []

    @memstack.hookimpl
    def memstack_after_change(self, ctx):  # type: ignore[no-untyped-def]
        self.events.append(ctx.event.event)

    @memstack.hookimpl
    def memstack_after_search(self, ctx):  # type: ignore[no-untyped-def]
        ctx.results[:] = [r for r in ctx.results if "hidden" not in r.memory]


def test_pipeline_hooks_transform_and_observe(memory: Memory, fresh_plugins) -> None:
    audit = Audit()
    memstack.register(Redactor(), name="redactor")
    memstack.register(audit, name="audit")
    e = memory.add("mail me at alice@example.com", user_id="u").results[0]
    assert memory.get(e.id).memory == "mail me at [email]"  # type: ignore[union-attr]
    memory.add("hidden note", user_id="u")
    memory.delete(e.id)
    assert audit.events == ["ADD", "ADD", "DELETE"]
    assert all("hidden" not in r.memory for r in memory.search("note", user_id="u").results)


def test_failing_before_hook_aborts_and_writes_nothing(memory: Memory, fresh_plugins) -> None:
    class Broken:
        @memstack.hookimpl
        def memstack_before_add(self, ctx):  # type: ignore[no-untyped-def]
            raise RuntimeError("redactor down")

    memstack.register(Broken(), name="broken")
    with pytest.raises(memstack.PluginError, match="redactor down"):
        memory.add("secret", user_id="u")
    assert memory.get_all(user_id="u").results == []


def test_async_memory_does_not_block(base_config: dict) -> None:
    import asyncio

    from memstack import AsyncMemory

    async def main() -> None:
        llm = ScriptedLLM(responses=[facts("Eve surfs"),
                                     decisions({"id": "a", "text": "Eve surfs", "event": "ADD"})])
        mem = await AsyncMemory.create(base_config, llm=llm)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        out = await mem.add("I surf", user_id="eve")
        found = await mem.search("surf", user_id="eve")
        task.cancel()
        assert [e.event for e in out.results] == ["ADD"]
        assert found.results[0].memory == "Eve surfs"
        assert ticks > 0
        await mem.close()

    asyncio.run(main())


def test_async_memory_takes_every_scoped_argument(base_config: dict) -> None:
    """AsyncMemory's by-id calls honour a scope exactly as Memory's do."""
    import asyncio
    import inspect

    from memstack import AsyncMemory

    for name in ("add", "search", "get", "get_all", "update", "delete", "delete_all", "history"):
        sync_params = set(inspect.signature(getattr(Memory, name)).parameters) - {"self"}
        async_params = set(inspect.signature(getattr(AsyncMemory, name)).parameters) - {"self"}
        assert sync_params == async_params, name

    async def main() -> None:
        mem = await AsyncMemory.create(base_config)
        added = await mem.add("Bob plays chess", user_id="bob", infer=False)
        rid = added.results[0].id
        assert (await mem.get(rid, user_id="bob")) is not None
        assert (await mem.get(rid, user_id="mallory")) is None
        assert [h.event for h in await mem.history(rid, user_id="bob")] == ["ADD"]
        with pytest.raises(memstack.MemoryNotFound):
            await mem.history(rid, user_id="mallory")
        with pytest.raises(memstack.MemoryNotFound):
            await mem.delete(rid, user_id="mallory")
        assert (await mem.get(rid)) is not None
        await mem.close()

    asyncio.run(main())


def test_by_id_calls_honour_a_given_scope(memory: Memory) -> None:
    a = memory.add("alice's diary", user_id="alice").results[0]
    assert memory.get(a.id, user_id="bob") is None
    assert memory.get(a.id, user_id="alice") is not None
    with pytest.raises(MemoryNotFound, match="user_id='bob'"):
        memory.update(a.id, "hacked", user_id="bob")
    with pytest.raises(MemoryNotFound):
        memory.delete(a.id, user_id="bob")
    assert memory.get(a.id).memory == "alice's diary"  # type: ignore[union-attr]
    assert [h.event for h in memory.history(a.id)] == ["ADD"]


# --- `insert` for new memories ------------------------------------------------------------------
def test_new_memories_are_inserted_and_changes_upserted(base_config: dict[str, Any]) -> None:
    from memstack.builtin.memory_store import InMemoryVectorStore, MemoryStoreConfig
    from memstack.capabilities import INSERT

    class InsertingStore(InMemoryVectorStore):
        capabilities = InMemoryVectorStore.capabilities | {INSERT}

        def __init__(self, config: MemoryStoreConfig) -> None:
            super().__init__(config)
            self.writes: list[tuple[str, list[str]]] = []

        def insert(self, records: Sequence[Record]) -> None:
            assert not self.get([r.id for r in records]), "insert of a stored id"
            self.writes.append(("insert", [r.id for r in records]))
            super().upsert(records)

        def upsert(self, records: Sequence[Record]) -> None:
            self.writes.append(("upsert", [r.id for r in records]))
            super().upsert(records)

    store = InsertingStore(MemoryStoreConfig(collection="i", dimension=64))
    with Memory(base_config, vector_store=store) as m:
        first = m.add("I live in Paris", user_id="u", infer=False).results[0]
        m.add(["I live in Paris", "I like tea", "I like coffee"], user_id="u", infer=False)
        assert [kind for kind, _ in store.writes] == ["insert", "insert"]
        assert len(store.writes[1][1]) == 2  # the repeat is not written again
        m.update(first.id, "I live in Rome")
        assert store.writes[-1] == ("upsert", [first.id])
        # the original text again: its derived id is taken by the updated memory
        again = m.add("I live in Paris", user_id="u", infer=False).results[0]
        assert again.event == "ADD" and again.id != first.id
        assert store.writes[-1] == ("insert", [again.id])
        assert {r.payload["text"] for r in store.list()} == {
            "I live in Rome", "I live in Paris", "I like tea", "I like coffee"}
