"""`import memstack` stays slim: no backend library, ever."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["chromadb", "torch", "sentence_transformers", "transformers", "psycopg",
         "qdrant_client", "pymilvus", "openai", "anthropic", "numpy", "httpx"]


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return {m.split(".")[0] for m in json.loads(out.splitlines()[-1])}


def test_import_memstack_imports_no_backend() -> None:
    assert imported_after("import memstack").isdisjoint(HEAVY)


def test_engine_and_registry_import_no_backend() -> None:
    mods = imported_after("from memstack import Memory, get_registry\nget_registry()")
    assert mods.isdisjoint(HEAVY), mods & set(HEAVY)


def test_plain_import_does_not_even_load_pydantic() -> None:
    assert "pydantic" not in imported_after("import memstack")
