"""benchmarks/locomo.py on a tiny LoCoMo-shaped data set written here: loading, evidence-id
repair, scoring, and a run through `Memory` (reference store, hashing embedder)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


locomo = _module("locomo")
vs_mem0 = _module("vs_mem0")

TINY: list[dict[str, Any]] = [{
    "sample_id": "conv-a",
    "conversation": {
        "speaker_a": "Ann", "speaker_b": "Bo",
        "session_1_date_time": "1:00 pm on 1 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a puppy named Rex"},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "Congrats! What breed is Rex?"},
            {"speaker": "Ann", "dia_id": "D1:3", "text": "A beagle, he loves the beach",
             "blip_caption": "a photo of a beagle on sand", "img_url": ["http://x"]},
            {"speaker": "Bo", "dia_id": "D1:4", "text": "Nice"},
        ],
        "session_2_date_time": "9:00 am on 3 June, 2023",
        "session_2": [
            {"speaker": "Bo", "dia_id": "D2:1", "text": "I started learning the violin"},
            {"speaker": "Ann", "dia_id": "D2:2", "text": "Nice"},
            {"speaker": "Ann", "dia_id": "D2:3", "text": "I ran a marathon in Boston"},
        ],
        "session_3_date_time": "a session date without a session list",
    },
    "qa": [
        {"question": "What is the name of Ann's puppy?", "answer": "Rex",
         "evidence": ["D1:1"], "category": 4},
        {"question": "Which breed is the puppy and where does it like to go?",
         "answer": "beagle, beach", "evidence": ["D1:3; D1:1"], "category": 1},
        {"question": "What instrument is Bo learning?", "answer": "violin",
         "evidence": ["D:2:1", "D2:01"], "category": 2},
        {"question": "Where did Ann run a marathon?", "answer": "Boston",
         "evidence": ["D2:3 D9:9", "D"], "category": 3},
        {"question": "What breed is Bo's puppy?", "adversarial_answer": "beagle",
         "evidence": ["D1:3"], "category": 5},
        {"question": "Unanswerable", "answer": "x", "evidence": ["D7:1", "bogus"],
         "category": 4},
    ],
}]


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-locomo.json"
    path.write_text(json.dumps(TINY))
    return path


# --- evidence ids -------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("D1:3", "D1:3"), ("D:11:26", "D11:26"), ("D30:05", "D30:5"), (" D2:7 ", "D2:7"),
    ("D10:0", "D10:0"), ("D", None), ("D1", None), ("d1:3", None), ("D1:3:4", None),
    ("X1:3", None), ("", None),
])
def test_parse_dia_id(raw: str, expected: str | None) -> None:
    assert locomo.parse_dia_id(raw) == expected


def test_repair_evidence_splits_parses_and_drops() -> None:
    known = {"D8:6", "D9:17", "D9:1", "D4:4", "D4:6", "D11:26", "D30:5"}
    raw = ["D8:6; D9:17", "D9:1 D4:4 D4:6", "D:11:26", "D30:05", "D", "D99:1", "D8:6", 7]
    assert locomo.repair_evidence(raw, known) == (
        "D8:6", "D9:17", "D9:1", "D4:4", "D4:6", "D11:26", "D30:5")
    assert locomo.repair_evidence(["D99:1", "nonsense"], known) == ()


def test_load_tiny_data(tiny_path: Path) -> None:
    [conv] = locomo.load(tiny_path)
    assert conv.sample_id == "conv-a"
    assert [t.dia_id for t in conv.turns] == ["D1:1", "D1:2", "D1:3", "D1:4", "D2:1", "D2:2",
                                              "D2:3"]
    assert conv.turns[4].date == "9:00 am on 3 June, 2023" and conv.turns[4].session == 2
    assert conv.turns[2].caption == "a photo of a beagle on sand"
    assert [q.evidence for q in conv.questions] == [
        ("D1:1",), ("D1:3", "D1:1"), ("D2:1",), ("D2:3",), ("D1:3",)]
    assert [q.category for q in conv.questions] == [4, 1, 2, 3, 5]
    assert conv.skipped == 1  # "Unanswerable": none of its ids exists


def test_document_forms(tiny_path: Path) -> None:
    [conv] = locomo.load(tiny_path)
    beagle = conv.turns[2]
    assert locomo.document(beagle, "plain") == "Ann: A beagle, he loves the beach"
    assert locomo.document(beagle, "dated") == (
        "[1:00 pm on 1 May, 2023] Ann: A beagle, he loves the beach "
        "[shares a photo of a beagle on sand]")
    assert locomo.document(conv.turns[0], "dated") == (
        "[1:00 pm on 1 May, 2023] Ann: I adopted a puppy named Rex")
    with pytest.raises(ValueError):
        locomo.document(beagle, "fancy")


# --- scoring ------------------------------------------------------------------------------------
def test_recall_counts_evidence_in_the_top_k() -> None:
    ranked = [{"D1:2"}, {"D9:9"}, {"D1:1", "D3:3"}]
    assert locomo.recall_at(("D1:1", "D1:2"), ranked, 1) == 0.5
    assert locomo.recall_at(("D1:1", "D1:2"), ranked, 2) == 0.5
    assert locomo.recall_at(("D1:1", "D1:2"), ranked, 3) == 1.0  # a memory for two turns
    assert locomo.recall_at(("D5:5",), ranked, 3) == 0.0


def test_scoreboard_averages_per_question_and_keeps_category_5_apart() -> None:
    board = locomo.Scoreboard(ks=(1, 2))
    q = locomo.Question
    board.add(q("a", 1, ("D1:1", "D1:2")), {1: [{"D1:1"}], 2: [{"D1:1"}, {"D1:2"}]})
    board.add(q("b", 4, ("D2:1",)), {1: [{"D9:9"}], 2: [{"D9:9"}, {"D8:8"}]})
    board.add(q("c", 5, ("D3:1",)), {1: [{"D3:1"}], 2: [{"D3:1"}]})
    result = board.result()
    assert result["overall"]["n"] == 2
    assert result["overall"]["recall@1"] == pytest.approx((0.5 + 0.0) / 2)
    assert result["overall"]["recall@2"] == pytest.approx((1.0 + 0.0) / 2)
    assert result["overall"]["hit@1"] == pytest.approx(0.5)
    assert result["1"]["recall@1"] == 0.5 and result["4"]["hit@2"] == 0.0
    assert result["5"] == {"n": 1, "recall@1": 1.0, "hit@1": 1.0, "recall@2": 1.0, "hit@2": 1.0}


def test_session_groups_keep_order_within_session_and_speaker(tiny_path: Path) -> None:
    [conv] = locomo.load(tiny_path)
    groups = [[t.dia_id for t in g] for g in locomo.session_groups(conv.turns)]
    assert groups == [["D1:1", "D1:3"], ["D1:2", "D1:4"], ["D2:1"], ["D2:2", "D2:3"]]


# --- through Memory -----------------------------------------------------------------------------
def test_run_through_memory(tiny_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The hashing embedder is a crude test double: let the keyword ranking lead, so the best
    # match is known in advance and the id → dia_id mapping is what is tested.
    code = locomo.main(["--data", str(tiny_path), "--store", "memory", "--embedder",
                        "hashing", "--mode", "hybrid", "--keyword-weight", "10", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["turns"], report["questions"], report["skipped_questions"]) == (7, 5, 1)
    assert report["memories"] == 7  # "Bo: Nice" and "Ann: Nice" are different texts
    result = report["result"]
    assert result["overall"]["n"] == 4 and result["5"]["n"] == 1
    # Keyword overlap decides these: the puppy's name, learning the violin, the marathon.
    for cat in ("2", "3", "4"):
        assert result[cat]["recall@1"] == 1.0, (cat, result[cat])
    assert result["1"]["recall@5"] == 1.0  # both evidence turns among 7 memories
    assert all(0.0 <= v <= 1.0 for m in result.values() for k, v in m.items() if k != "n")
    assert report["config"]["search"]["mode"] == "hybrid"


def test_duplicate_texts_map_to_every_turn(tmp_path: Path) -> None:
    from memstack import Memory

    data = json.loads(json.dumps(TINY))
    data[0]["conversation"]["session_2"][1]["text"] = "I adopted a puppy named Rex"
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    conversations = locomo.load(path)
    with Memory({"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
                 "history_store": {"provider": "sqlite",
                                   "config": {"path": str(tmp_path / "h.db")}}}) as m:
        loaded = locomo.Loaded(m, conversations, "plain")
        assert loaded.memories == 6
        assert {"D1:1", "D2:2"} in loaded.dia.values()
        result = locomo.evaluate(m, loaded, ks=(1, 5), prefix=True)
        assert result["4"]["recall@1"] == 1.0


def test_vs_mem0_ratios_and_verdicts() -> None:
    def report(per_s: float, single: float, search: float, r10: float) -> dict[str, Any]:
        return {"bulk_add": {"per_s": per_s}, "single_add": {"median_s": single},
                "search": {"median_s": search}, "recall": {"overall": {"recall@10": r10}}}

    rows = {r["measure"]: r for r in vs_mem0.compare(report(90.0, 0.006, 0.005, 0.70),
                                                     report(10.0, 0.010, 0.010, 0.55))}
    assert rows["bulk_add_throughput"]["ratio"] == pytest.approx(9.0)
    assert rows["bulk_add_throughput"]["met"] is True
    assert rows["single_add_latency"]["ratio"] == pytest.approx(0.6)
    assert rows["single_add_latency"]["met"] is True
    assert rows["search_latency"]["ratio"] == pytest.approx(0.5)
    assert rows["recall@10"]["ratio"] == pytest.approx(0.15) and rows["recall@10"]["met"]
    slow = {r["measure"]: r for r in vs_mem0.compare(report(50.0, 0.009, 0.007, 0.60),
                                                     report(10.0, 0.010, 0.010, 0.55))}
    assert not any(r["met"] for r in slow.values())


def test_timestamps_record_each_session_date(tmp_path: Path) -> None:
    """--timestamps: every memory holds from its session's date (issue 20)."""
    from memstack import Memory

    assert locomo.session_time("1:56 pm on 8 May, 2023").isoformat() == "2023-05-08T13:56:00+00:00"
    assert locomo.session_time("sometime") is None
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    conversations = locomo.load(path)
    with Memory({"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
                 "history_store": {"provider": "sqlite",
                                   "config": {"path": str(tmp_path / "h.db")}}}) as m:
        loaded = locomo.Loaded(m, conversations, "plain", timestamps=True)
        items = [m.get(i) for i in loaded.dia]
        dates = {t.dia_id: t.date for c in conversations for t in c.turns}
        for it in items:
            turn = sorted(loaded.dia[it.id])[0]
            assert it.said_at == locomo.session_time(dates[turn]).isoformat(
                timespec="microseconds")


def test_store_config_keeps_data_in_the_workdir_and_merges_the_given_fields(tmp_path: Path
                                                                           ) -> None:
    assert locomo.store_config("qdrant", tmp_path) == {"path": str(tmp_path / "qdrant")}
    assert locomo.store_config("milvus", tmp_path, {"keyword_search": False}) == {
        "uri": str(tmp_path / "milvus.db"), "keyword_search": False}
    assert locomo.store_config("pgvector", tmp_path, {"dsn": "x"}) == {"dsn": "x"}
    import argparse

    args = argparse.Namespace(store="sqlite", embedder="hashing", mode=None,
                              store_config={"keyword_search": False})
    config = locomo.memory_config(args, tmp_path)
    assert config["vector_store"] == {"provider": "sqlite", "config": {
        "path": str(tmp_path / "vectors.db"), "keyword_search": False}}
