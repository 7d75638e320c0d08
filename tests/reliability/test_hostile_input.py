"""Hostile and broken input: each is refused with a typed memstack error and nothing is written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memstack import Memory
from memstack.config import load_config
from memstack.errors import InvalidInput, MemstackError
from memstack.filters import parse_filter
from memstack.inputs import parse_messages
from memstack_contract.fakes import HashingEmbedder
from tests.reliability.conftest import STORE_NAMES, memory_config, size

INJECTIONS = ["x' OR '1'='1", '") or true', '" or 1==1 or "', "'; DROP TABLE memstack; --",
              "\\", "a\\' OR 1=1 --", "$where", "' || '1'=='1", "%", "_"]


class BrokenEmbedder(HashingEmbedder):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def embed(self, texts, *, kind="document"):  # type: ignore[no-untyped-def]
        vectors = super().embed(texts, kind=kind)
        if self.mode == "nan":
            vectors[-1][0] = math.nan
        elif self.mode == "inf":
            vectors[0][3] = math.inf
        elif self.mode == "dim":
            vectors[0] = vectors[0][:-1]
        elif self.mode == "count":
            vectors = vectors[:-1]
        return vectors


@pytest.fixture
def m(tmp_path: Path, store_config) -> Any:
    with Memory(memory_config(store_config("memory"), tmp_path)) as mem:
        yield mem


def nothing_written(mem: Memory) -> bool:
    return (mem.store.count() == 0 and mem.history_store.memory_ids() == []
            and mem.history_store.pending() == [])


BAD_TEXT = ["", "   \n\t", "x" * 1_000_000, "lone \ud800 surrogate", b"\xff\xfe invalid utf-8",
            "nul \x00 byte", 42, None]


@pytest.mark.parametrize("text", BAD_TEXT, ids=lambda t: repr(t)[:20])
def test_bad_text(m: Memory, text: Any, figures) -> None:
    with pytest.raises(InvalidInput):
        m.add(text, user_id="u")
    with pytest.raises(InvalidInput):
        m.add([{"role": "user", "content": text}], user_id="u")
    assert nothing_written(m)


@pytest.mark.parametrize("mode", ["nan", "inf", "dim", "count"])
def test_broken_embedder_vectors(tmp_path: Path, store_config, mode: str) -> None:
    with Memory(memory_config(store_config("memory"), tmp_path),
                embedder=BrokenEmbedder(mode)) as mem:
        with pytest.raises(InvalidInput):
            mem.add(["one", "two"], user_id="u")
        assert nothing_written(mem)


@pytest.mark.parametrize("meta", [{"a": {"b": 1}}, {"a": [1, [2]]}, {"a": None},
                                  {"a": object()}, {"a": b"bytes"}, {"a": float("nan")},
                                  {"a": 2**60}, {"text": "shadow"}, {"": 1}, {"a b": 1},
                                  {"a": "x" * 70_000}, {1: "x"}])
def test_bad_metadata(m: Memory, meta: dict) -> None:
    with pytest.raises(InvalidInput):
        m.add("hello", user_id="u", metadata=meta)
    assert nothing_written(m)


@pytest.mark.parametrize("scope", [{"user_id": {"ne": "x"}}, {"user_id": {"$in": ["a"]}},
                                   {"agent_id": ["a", "b"]}, {"run_id": 7},
                                   {"user_id": "u", "agent_id": {"OR": []}}, {"user_id": ""},
                                   {"user_id": "x" * 300}, {"user_id": "a\ud800"}])
def test_scope_values_that_are_not_plain_strings(m: Memory, scope: dict) -> None:
    with pytest.raises(InvalidInput):
        m.add("hello", **scope)
    with pytest.raises(InvalidInput):
        m.search("hello", **scope)
    assert nothing_written(m)


@pytest.mark.parametrize("store", STORE_NAMES)
def test_injection_in_filter_values_is_matched_literally(store: str, store_config,
                                                         tmp_path: Path, figures) -> None:
    with Memory(memory_config(store_config(store), tmp_path)) as mem:
        mem.add("plain note", user_id="u", metadata={"tag": "plain"})
        literal = mem.add("tricky note", user_id="u", metadata={"tag": INJECTIONS[0]}).results[0]
        for value in INJECTIONS:
            for f in ({"tag": value}, {"tag": {"in": [value]}}, {"tag": {"ne": value}}):
                got = {i.id for i in mem.get_all(user_id="u", filters=f).results}
                hits = {i.id for i in mem.search("note", user_id="u", filters=f).results}
                want = {literal.id} if value == INJECTIONS[0] else set()
                if "ne" in f["tag"] if isinstance(f["tag"], dict) else False:
                    want = {i.id for i in mem.get_all(user_id="u").results} - want
                assert got == want, (value, f)
                assert hits == want, (value, f)
            for key in ("user_id", "agent_id"):
                with pytest.raises(InvalidInput):
                    mem.search("note", **{key: {"eq": value}})
        assert mem.get_all(user_id=INJECTIONS[0]).results == []
        figures("injection", store=store, values=len(INJECTIONS), filters=len(INJECTIONS) * 3,
                wrong=0)


def test_unknown_providers_and_broken_configs(tmp_path: Path) -> None:
    for bad in ({"vector_store": {"provider": "nope"}}, {"embedder": {"provider": 3}},
                {"vector_store": "chroma"}, {"llm": {"provider": "scripted", "config": []}},
                {"history_store": {"provider": "sqlite", "config": {"path": 5, "x": 1}}}):
        with pytest.raises(MemstackError):
            Memory({**memory_config({"provider": "memory"}, tmp_path), **bad})


# --- fuzzing: nothing but MemstackError subclasses escapes -----------------------------------
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c,
                                                                 max_size=4)),
    max_leaves=12)
filter_like = st.dictionaries(st.sampled_from(["a", "b", "AND", "OR", "NOT", "$eq", "x y"]),
                              json_values, max_size=3)
FUZZ = size(300, 3000)


@settings(max_examples=FUZZ, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(json_values, filter_like))
def test_fuzz_filter_parser(raw: Any) -> None:
    try:
        parse_filter(raw)
    except MemstackError:
        pass


@settings(max_examples=FUZZ, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(json_values, st.dictionaries(
    st.sampled_from(["vector_store", "embedder", "llm", "collection", "batch_size", "search",
                     "prompts", "bogus"]), json_values, max_size=4)))
def test_fuzz_config_loader(raw: Any) -> None:
    try:
        load_config(raw)
    except MemstackError:
        pass


@settings(max_examples=FUZZ, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(json_values, st.text(), st.binary(max_size=20),
                 st.lists(st.dictionaries(st.sampled_from(["role", "content", "name", "x"]),
                                          json_values, max_size=3), max_size=3)))
def test_fuzz_message_parser(raw: Any) -> None:
    try:
        parse_messages(raw, 1000)
    except MemstackError:
        pass


@settings(max_examples=size(40, 400), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(text=st.one_of(st.text(max_size=50), st.binary(max_size=20)), meta=json_values,
       scope=json_values)
def test_fuzz_add_writes_only_valid_input(tmp_path_factory, text: Any, meta: Any,
                                          scope: Any) -> None:
    path = tmp_path_factory.mktemp("fuzz")
    with Memory(memory_config({"provider": "memory"}, path)) as mem:
        try:
            mem.add(text, user_id=scope if isinstance(scope, str) else "u",
                    metadata=meta if isinstance(meta, dict) else None)
        except MemstackError:
            assert nothing_written(mem)
        else:
            assert mem.store.count() == 1
            json.dumps(mem.get_all(user_id=scope if isinstance(scope, str) else "u")
                       .model_dump())
