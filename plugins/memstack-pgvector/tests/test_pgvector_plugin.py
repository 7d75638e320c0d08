"""Registration, lazy imports and declared capabilities."""

from __future__ import annotations

import subprocess
import sys

from memstack.capabilities import Kind
from memstack.registry import get_registry


def test_importing_the_plugin_does_not_import_psycopg() -> None:
    code = (
        "import sys, memstack_pgvector, memstack_pgvector.plugin\n"
        "memstack_pgvector.plugin.memstack_vector_stores()\n"
        "memstack_pgvector.plugin.memstack_history_stores()\n"
        "names = ('psycopg', 'psycopg_pool', 'pgvector', 'numpy')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_providers_are_registered_with_their_capabilities() -> None:
    from memstack_pgvector.history import PostgresHistoryStore
    from memstack_pgvector.store import CAPABILITIES

    reg = get_registry()
    vs = reg.get(Kind.VECTOR_STORE, "pgvector")
    hs = reg.get(Kind.HISTORY_STORE, "postgres")
    assert vs.distribution == "memstack-pgvector" and hs.distribution == "memstack-pgvector"
    # The spec lists all the provider can do; a default (HNSW) instance is approximate.
    assert vs.capabilities == CAPABILITIES | {"exact_search"}
    assert "exact_search" not in CAPABILITIES
    assert {"filter:range_str", "filter:not", "filter:contains"} <= vs.capabilities
    assert hs.capabilities == PostgresHistoryStore.capabilities
    assert vs.config_model.model_json_schema()["properties"]["schema"]["default"] == "public"
