"""Crash consistency for supersession (issue 20): an LLM UPDATE writes the successor and then
closes the old version, as one journal batch. Killed before, between or after those two
writes, the reopened memory has exactly one current version, nothing acknowledged is lost,
and store and history agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memstack import Memory
from tests.reliability.conftest import memory_config

CHILD = Path(__file__).with_name("supersede_child.py")
SCRIPT = [json.dumps({"facts": ["Maya lives in Porto"]}),
          json.dumps({"memory": [{"id": "0", "text": "Maya lives in Porto", "event": "UPDATE"}]})]


@pytest.mark.parametrize("point", ["before", "between", "after"])
@pytest.mark.parametrize("store", ["chroma", "pgvector"])
def test_kill_inside_a_supersession(store: str, point: str, store_config, tmp_path: Path,
                                    figures) -> None:
    config = memory_config(store_config(store), tmp_path,
                           llm={"provider": "scripted", "config": {"responses": SCRIPT}})
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = subprocess.run([sys.executable, str(CHILD), str(tmp_path / "config.json"), point],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    lisbon = json.loads(proc.stdout.splitlines()[0])["acked"]
    with Memory(config) as m:
        assert m.recovered == 2  # the successor's ADD and the close, settled together
        current = m.get_all(user_id="maya").results
        every = m.get_all(user_id="maya", include_superseded=True).results
        assert len(current) == 1, current  # exactly one current version
        assert m.history_store.pending() == []
        old = m.get(lisbon)
        assert old is not None  # nothing acknowledged is lost
        if point == "after":  # both writes landed: the supersession stands
            assert current[0].memory == "Maya lives in Porto"
            assert current[0].supersedes == lisbon and old.superseded_by == current[0].id
            assert old.valid_until == current[0].valid_from == "2025-01-01T00:00:00.000000+00:00"
            assert [h.event for h in m.history(lisbon)] == ["ADD", "UPDATE"]
            assert [h.event for h in m.history(current[0].id)] == ["ADD"]
        else:  # taken back: the successor (if written) removed, the old version current
            assert [i.id for i in every] == [lisbon] and old.valid_until is None
            assert [h.event for h in m.history(lisbon)] == ["ADD"]
            assert {i for i in m.history_store.memory_ids()} == {lisbon}
        # the same news again completes it
        m.llm.responses = list(SCRIPT)  # type: ignore[union-attr]
        m.add("I moved to Porto", user_id="maya", timestamp="2025-01-01")
        assert [i.memory for i in m.get_all(user_id="maya").results] == ["Maya lives in Porto"]
        assert [i.memory for i in m.get_all(user_id="maya", as_of="2024-01-01").results] == [
            "Maya lives in Lisbon"]
    figures("crash_in_supersession", store=store, point=point, current_versions=len(current),
            versions_after_recovery=len(every))
