"""8 threads of mixed operations on one Memory, and 2 processes on one multi-process store:
0 errors, 0 lost updates, complete history."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from memstack import Memory
from memstack.capabilities import MULTIPROCESS
from tests.reliability.conftest import memory_config, size

THREADS = 8


def check_update_chain(m: Memory, memory_id: str) -> int:
    """Each UPDATE's old text is the previous entry's new text: no update was lost."""
    hist = m.history(memory_id)
    broken = 0
    for prev, cur in itertools.pairwise(hist):
        if cur.event == "UPDATE" and cur.old_memory != prev.new_memory:
            broken += 1
    return broken


@pytest.mark.parametrize("store", ["chroma", "pgvector"])
def test_eight_threads_mixed_operations(store: str, store_config, tmp_path: Path,
                                        figures) -> None:
    per_thread = size(15, 60)
    m = Memory(memory_config(store_config(store), tmp_path))
    shared = m.add("shared counter 0", user_id="shared").results[0].id
    errors: list[BaseException] = []
    expected: dict[str, str] = {}
    deleted: set[str] = set()
    lock = threading.Lock()
    ops = {"add": 0, "update": 0, "delete": 0, "search": 0}

    def worker(t: int) -> None:
        rng = random.Random(t)
        mine: list[str] = []
        try:
            for i in range(per_thread):
                e = m.add(f"thread {t} item {i}", user_id=f"user{t}").results[0]
                mine.append(e.id)
                with lock:
                    expected[e.id] = e.memory
                    ops["add"] += 1
                target = rng.choice(mine)
                if target not in deleted:
                    text = f"thread {t} item {i} revised {rng.random():.6f}"
                    m.update(target, text)
                    with lock:
                        expected[target] = text
                        ops["update"] += 1
                m.update(shared, f"shared counter t{t} i{i}")
                hits = m.search(f"thread {t}", user_id=f"user{t}", limit=5).results
                assert all(h.user_id == f"user{t}" for h in hits)
                with lock:
                    ops["update"] += 1
                    ops["search"] += 1
                if i % 5 == 4:
                    victim = mine.pop(0)
                    m.delete(victim)
                    with lock:
                        deleted.add(victim)
                        expected.pop(victim)
                        ops["delete"] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[:3]
    lost = sum(1 for mid, text in expected.items() if (m.get(mid) or None) is None
               or m.get(mid).memory != text)  # type: ignore[union-attr]
    resurrected = sum(1 for mid in deleted if m.get(mid) is not None)
    shared_hist = m.history(shared)
    broken_chain = check_update_chain(m, shared)
    incomplete = sum(1 for mid in expected if m.history(mid)[-1].new_memory != expected[mid])
    m.close()
    figures("threads", store=store, threads=THREADS, operations=sum(ops.values()), **ops,
            errors=len(errors), lost_updates=lost + broken_chain, resurrected=resurrected,
            shared_updates=len(shared_hist) - 1, history_incomplete=incomplete)
    assert lost == resurrected == broken_chain == incomplete == 0
    assert len(shared_hist) == 1 + THREADS * per_thread


WORKER = """
import json, sys
from memstack import Memory
config, tag, n, shared = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Memory(config) as m:
    for i in range(n):
        m.add(f"process {tag} memory {i}", user_id="both")
        m.update(shared, f"shared by {tag} at {i}")
print("ok")
"""


def test_two_processes_on_one_store(store_config, tmp_path: Path, figures) -> None:
    n = size(60, 400)
    config = memory_config(store_config("pgvector"), tmp_path)
    with Memory(config) as m:
        assert MULTIPROCESS in m.store.capabilities
        shared = m.add("shared start", user_id="both").results[0].id
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(config), tag, str(n),
                               shared], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for tag in ("A", "B")]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    with Memory(config) as m:
        texts = [i.memory for i in m.get_all(user_id="both", limit=10**5).results]
        missing = sum(f"process {t} memory {i}" not in texts for t in "AB" for i in range(n))
        broken = check_update_chain(m, shared)
        updates = len(m.history(shared)) - 1
    figures("two_processes", store="pgvector", processes=2, adds=2 * n, updates=2 * n,
            missing=missing, lost_updates=broken + (2 * n - updates))
    assert missing == 0 and broken == 0 and updates == 2 * n
