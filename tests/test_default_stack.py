"""End to end on the real embedded default: `Memory()` = SQLite on disk + MiniLM + history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memstack import Memory


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("memstack-home")


@pytest.fixture
def default_memory(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Memory]:
    monkeypatch.setenv("MEMSTACK_HOME", str(home))
    monkeypatch.delenv("MEMSTACK_CONFIG", raising=False)
    m = Memory()
    yield m
    m.close()


def test_default_is_sqlite_minilm_sqlite_without_llm(default_memory: Memory, home: Path) -> None:
    assert default_memory.names == {"embedder": "sentence-transformers",
                                    "vector_store": "sqlite", "history_store": "sqlite"}
    assert default_memory.llm is None and default_memory.embedder.dimension == 384
    assert (home / "history.db").exists() and (home / "vectors.db").is_file()
    assert not (home / "chroma").exists()


def test_a_home_with_the_previous_defaults_chroma_store_keeps_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading must not hide what was stored: a data directory holding the Chroma store of
    the earlier default (and no SQLite store) is still read through Chroma."""
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    monkeypatch.delenv("MEMSTACK_CONFIG", raising=False)
    with Memory({"vector_store": {"provider": "chroma"}}) as old:
        kept = old.add("I keep bees on the roof", user_id="u", infer=False).results[0].id
    assert (tmp_path / "chroma").is_dir() and not (tmp_path / "vectors.db").exists()
    with Memory() as upgraded:
        assert upgraded.names["vector_store"] == "chroma"
        assert upgraded.search("bees", user_id="u").results[0].id == kept
    (tmp_path / "vectors.db").touch()  # once a SQLite store exists, it is the default again
    with Memory() as later:
        assert later.names["vector_store"] == "sqlite"


def test_add_search_update_history_delete(default_memory: Memory) -> None:
    m = default_memory
    added = m.add(["I adopted a grey cat named Pixel", "I work as a landscape architect",
                   "My sister lives in Toronto"], user_id="maya")
    assert added.inferred is False and [e.event for e in added.results] == ["ADD"] * 3
    hits = m.search("tell me about her pet", user_id="maya", limit=2).results
    assert hits[0].memory == "I adopted a grey cat named Pixel"
    assert 0.0 < hits[0].score <= 1.0 and hits[0].score >= hits[1].score
    assert m.search("pet", user_id="someone-else").results == []
    cat = added.results[0].id
    m.update(cat, "I adopted a black dog named Rex")
    assert m.search("what dog does she have", user_id="maya", limit=1).results[0].id == cat
    assert [(h.event, h.new_memory) for h in m.history(cat)] == [
        ("ADD", "I adopted a grey cat named Pixel"), ("UPDATE", "I adopted a black dog named Rex")]
    m.delete(cat)
    assert m.get(cat) is None and [h.event for h in m.history(cat)][-1] == "DELETE"
    assert len(m.get_all(user_id="maya").results) == 2


def test_data_survives_reopening(default_memory: Memory, home: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    e = default_memory.add("I swim every Tuesday", user_id="reopen").results[0]
    default_memory.close()
    with Memory() as again:
        assert again.get(e.id).memory == "I swim every Tuesday"  # type: ignore[union-attr]
        assert again.search("swimming", user_id="reopen").results[0].id == e.id


def test_readme_memories_over_time(default_memory: Memory) -> None:
    """The README's "Memories over time" example on the real default stack."""
    memory = default_memory
    memory.add("I live in Lisbon", user_id="maya-time", timestamp="2023-02-01")
    lisbon = memory.get_all(user_id="maya-time").results[0]
    memory.update(lisbon.id, "I live in Porto", supersede=True, timestamp="2025-03-01")
    now = memory.search("where do I live?", user_id="maya-time").results
    then = memory.search("where did I live?", user_id="maya-time", as_of="2024-06-01").results
    every = memory.get_all(user_id="maya-time", include_superseded=True).results
    assert [i.memory for i in now] == ["I live in Porto"]
    assert [i.memory for i in then] == ["I live in Lisbon"]
    assert sorted((i.memory, i.valid_until is None) for i in every) == [
        ("I live in Lisbon", False), ("I live in Porto", True)]
