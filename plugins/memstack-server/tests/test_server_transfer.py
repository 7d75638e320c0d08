"""`memstack export` / `memstack import` (core/memstack/transfer.py), shared with /v1/export
and /v1/import: round trips between different stores and embedders keep ids, text, metadata,
timestamps and every history entry; importing twice adds nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from memstack import Memory
from memstack.transfer import export_lines, import_lines


def _chroma(directory: Path, dim: int = 64) -> dict[str, Any]:
    return {"vector_store": {"provider": "chroma", "config": {"path": str(directory / "chroma")}},
            "embedder": {"provider": "hashing", "config": {"dimension": dim}},
            "history_store": {"provider": "sqlite", "config": {"path": str(directory / "h.db")}}}


def _in_memory(directory: Path, dim: int) -> dict[str, Any]:
    return {"vector_store": {"provider": "memory"},
            "embedder": {"provider": "hashing", "config": {"dimension": dim}},
            "history_store": {"provider": "sqlite", "config": {"path": str(directory / "m.db")}}}


def _fill(m: Memory) -> dict[str, str]:
    ids = {}
    for user in ("ann", "ben"):
        r = m.add([f"{user} likes tea", f"{user} lives in Oslo", f"{user} plays chess"],
                  user_id=user, metadata={"source": "chat", "n": 1}, infer=False)
        ids.update({f"{user}:{e.memory}": e.id for e in r.results})
    m.add("agent fact", agent_id="bot", run_id="r1", infer=False)
    m.update(ids["ann:ann likes tea"], "ann likes green tea", metadata={"n": 2})
    m.delete(ids["ben:ben plays chess"])  # a deleted memory: only its history remains
    return ids


def _state(m: Memory) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scope in ({"user_id": "ann"}, {"user_id": "ben"}, {"agent_id": "bot"}):
        for it in m.get_all(**scope).results:
            hist = [(h.entry_id, h.event, h.old_memory, h.new_memory, h.created_at)
                    for h in m.history(it.id)]
            out[it.id] = (it.memory, it.user_id, it.agent_id, it.run_id, it.metadata,
                          it.created_at, it.updated_at, hist)
    return out


def _export(m: Memory, **kw: Any) -> list[str]:
    return list(export_lines(m, **kw))


def test_round_trip_between_stores_and_embedders(tmp_path: Path) -> None:
    a = Memory(_chroma(tmp_path / "a"))
    ids = _fill(a)
    original = _state(a)
    lines = _export(a)
    assert json.loads(lines[-1]) == {"type": "end", "memories": 6, "histories": 1}
    # to the in-memory store with another embedder (32 dimensions): everything re-embedded
    b = Memory(_in_memory(tmp_path / "b", 32))
    s = import_lines(b, lines)
    assert (s.memories, s.added, s.reembedded, s.unchanged) == (6, 6, 6, 0)
    assert _state(b) == original
    ids_now = list(original)
    # the whole stored payload travels, engine-owned fields (times, validity) included
    assert [r.payload for r in b.store.get(ids_now)] == [r.payload for r in a.store.get(ids_now)]
    assert len(b.store.get([next(iter(original))], with_vectors=True)[0].vector) == 32
    deleted = ids["ben:ben plays chess"]
    assert [h.event for h in b.history(deleted)] == ["ADD", "DELETE"]
    hits = b.search("green tea", user_id="ann", limit=1).results
    assert hits[0].memory == "ann likes green tea"
    # idempotent: the same file again adds nothing, not even history
    again = import_lines(b, lines)
    assert (again.added, again.updated, again.history_added, again.unchanged) == (0, 0, 0, 6)
    assert _state(b) == original
    # and back to Chroma with the first embedder, from B's export
    c = Memory(_chroma(tmp_path / "c"))
    import_lines(c, _export(b))
    assert _state(c) == original
    # same embedder: the stored vectors are kept, not recomputed
    d = Memory(_chroma(tmp_path / "d"))
    kept = import_lines(d, lines)
    assert kept.reembedded == 0
    some = next(iter(original))
    assert d.store.get([some], with_vectors=True)[0].vector == \
        a.store.get([some], with_vectors=True)[0].vector
    for m in (a, b, c, d):
        m.close()


def test_scope_export_and_conflicting_text_is_updated(tmp_path: Path) -> None:
    a = Memory(_in_memory(tmp_path, 64))
    _fill(a)
    ann = _export(a, scope={"user_id": "ann"})
    assert {json.loads(x).get("user_id") for x in ann[1:-1]} == {"ann"}
    assert json.loads(ann[-1])["histories"] == 0  # deleted memories belong to full exports
    mid = json.loads(ann[1])["id"]
    a.update(mid, "changed after the backup")
    restored = import_lines(a, ann)  # restoring the backup puts the old text back, as UPDATE
    assert restored.updated == 1 and a.get(mid).memory == json.loads(ann[1])["text"]
    assert a.history(mid)[-1].event == "UPDATE"
    a.close()


def _run(capsys: Any, *args: str) -> tuple[int, str, str]:
    """`memstack ARGS` in this process (the same `main` the console script runs)."""
    from memstack.cli.main import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_import_between_configs(tmp_path: Path, capsys: Any) -> None:
    src, dst = tmp_path / "src.yaml", tmp_path / "dst.yaml"
    src.write_text(yaml.safe_dump(_chroma(tmp_path / "s")))
    dst.write_text(yaml.safe_dump(_chroma(tmp_path / "d", dim=48)))
    plain = tmp_path / "plain.jsonl"
    plain.write_text('"first plain line"\n{"text": "second", "metadata": {"k": "v"}}\n')
    # the plain one-text-per-line import still works as before
    code, out, err = _run(capsys, "import", str(plain), "--user", "u1", "--config", str(src),
                          "--json")
    assert code == 0, err
    assert json.loads(out) == {"lines": 2, "added": 2, "unchanged": 0}
    _run(capsys, "add", "a third memory", "--user", "u2", "--no-infer", "--config", str(src))
    backup = tmp_path / "backup.jsonl"
    code, out, err = _run(capsys, "export", "--config", str(src), "-o", str(backup))
    assert code == 0 and "exported 3 memories" in err, err
    code, out, err = _run(capsys, "import", str(backup), "--config", str(dst), "--json")
    assert code == 0, err
    assert json.loads(out) == {"memories": 3, "added": 3, "updated": 0, "unchanged": 0,
                               "history_added": 3, "reembedded": 3}
    # again: nothing added; the progress bar is drawn on stderr
    code, out, err = _run(capsys, "import", str(backup), "--config", str(dst))
    assert code == 0 and "0 added" in out and "3 already stored" in out
    assert "importing memories" in err
    with Memory(str(dst)) as m:
        assert sorted(x.memory for x in m.get_all(user_id="u1").results) == [
            "first plain line", "second"]
        assert m.embedder.dimension == 48
    bad = tmp_path / "bad.jsonl"
    bad.write_text(backup.read_text().replace('"text": "second"', '"text": 5', 1))
    code, out, err = _run(capsys, "import", str(bad), "--config", str(dst))
    assert code == 2 and "line" in err and "'text'" in err, err
