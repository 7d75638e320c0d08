"""SIGKILL a bulk import at random moments; after reopening nothing acknowledged is lost,
store and history agree, no id is duplicated, and re-running the import completes it."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memstack import Memory
from tests.reliability.conftest import memory_config, size
from tests.reliability.import_child import texts

CHILD = Path(__file__).with_name("import_child.py")


def live_ids_from_history(m: Memory) -> set[str]:
    live = set()
    for mid in m.history_store.memory_ids():
        events = [h.event for h in m.history(mid)]
        if events and events[-1] != "DELETE":
            live.add(mid)
    return live


def check_consistent(m: Memory, acked: set[str]) -> dict[str, int]:
    stored = m.get_all(user_id="importer", limit=10**6).results
    ids = [s.id for s in stored]
    store_ids = set(ids)
    history_ids = live_ids_from_history(m)
    texts_seen = [s.memory for s in stored]
    return {
        "stored": len(store_ids),
        "acked": len(acked),
        "acked_missing": len(acked - store_ids),
        "duplicate_ids": len(ids) - len(store_ids),
        "duplicate_texts": len(texts_seen) - len(set(texts_seen)),
        "store_not_in_history": len(store_ids - history_ids),
        "history_not_in_store": len(history_ids - store_ids),
        "pending_left": len(m.history_store.pending()),
    }


@pytest.mark.parametrize("store", ["chroma", "pgvector"])
def test_sigkill_during_bulk_import(store: str, store_config, tmp_path: Path, figures) -> None:
    n, batch, kills = size(2000, 10_000), size(200, 500), size(2, 5)
    config = memory_config(store_config(store), tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(config))
    rng = random.Random(f"{store}-{n}")
    lost = 0
    rounds = []
    for k in range(kills):
        ack = tmp_path / f"ack{k}.txt"
        ack.touch()
        proc = subprocess.Popen([sys.executable, str(CHILD), str(tmp_path / "config.json"),
                                 str(n), str(batch), str(ack)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        # A random moment into the import: after a random share of it was acknowledged,
        # plus a random fraction of a batch's time, so kills land inside batches too.
        target = rng.uniform(0.0, 0.9) * n
        deadline = time.monotonic() + 300
        while len(ack.read_text().split()) < target and proc.poll() is None:
            assert time.monotonic() < deadline, "import made no progress"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        acked = {line for a in tmp_path.glob("ack*.txt") for line in a.read_text().split()}
        with Memory(config) as m:  # reopening settles what the kill left pending
            result = check_consistent(m, acked)
        result["kill"] = k
        result["recovered_pending"] = m.recovered
        rounds.append(result)
        lost += result["acked_missing"]
        assert result["acked_missing"] == 0, result
        assert result["duplicate_ids"] == result["duplicate_texts"] == 0, result
        assert result["store_not_in_history"] == result["history_not_in_store"] == 0, result
        assert result["pending_left"] == 0, result
    # Re-running the same import completes it without duplicates.
    done = subprocess.run([sys.executable, str(CHILD), str(tmp_path / "config.json"), str(n),
                           str(batch), str(tmp_path / "ack-final.txt")], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    acked = {line for a in tmp_path.glob("ack*.txt") for line in a.read_text().split()}
    with Memory(config) as m:
        final = check_consistent(m, acked)
        assert final["stored"] == n == len(set(texts(n)))
        assert sorted(i.memory for i in m.get_all(user_id="importer", limit=10**6).results) \
            == sorted(texts(n))
    assert final["acked_missing"] == final["duplicate_ids"] == final["duplicate_texts"] == 0
    assert final["store_not_in_history"] == final["history_not_in_store"] == 0
    figures("crash_consistency", store=store, memories=n, batch=batch, kills=kills,
            killed_while_importing=sum(r["stored"] < n for r in rounds),
            acked_before_kills=[r["acked"] for r in rounds],
            recovered_pending=[r["recovered_pending"] for r in rounds],
            lost=lost, duplicates=final["duplicate_ids"], final_stored=final["stored"])


@pytest.mark.parametrize("point", ["after_begin", "after_store"])
@pytest.mark.parametrize("store", ["chroma", "pgvector"])
def test_crash_inside_the_two_phase_write(store: str, point: str, store_config, tmp_path: Path,
                                          figures) -> None:
    """Die exactly between the phases; reopening settles the pending rows both ways."""
    n, batch = 600, 100
    config = memory_config(store_config(store), tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(config))
    ack = tmp_path / "ack.txt"
    proc = subprocess.run([sys.executable, str(CHILD), str(tmp_path / "config.json"), str(n),
                           str(batch), str(ack), point, "3"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 9, proc.stderr
    acked = set(ack.read_text().split())
    assert len(acked) == 3 * batch
    with Memory(config) as m:
        assert m.recovered == batch  # the dying batch's pending rows were settled
        result = check_consistent(m, acked)
    expected_stored = 4 * batch if point == "after_store" else 3 * batch
    assert result["stored"] == expected_stored, result
    assert result["acked_missing"] == result["duplicate_ids"] == 0, result
    assert result["store_not_in_history"] == result["history_not_in_store"] == 0, result
    assert result["pending_left"] == 0, result
    figures("crash_in_window", store=store, point=point, recovered_pending=batch,
            stored_after_recovery=result["stored"], lost=result["acked_missing"])
