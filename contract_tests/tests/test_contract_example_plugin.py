"""The worked example of CONTRIBUTING.md: install it as a user would, and it passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "memstack-example-store"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """pip-install a copy of the example into a private directory (not the shared venv)."""
    tmp = tmp_path_factory.mktemp("example")
    src = tmp / "src"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    site = tmp / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return site


def test_example_plugin_passes_the_contract_suite(installed, suite_runner, tmp_path):
    run = suite_runner([str(EXAMPLE / "tests")], tmp_path, cwd=tmp_path,
                       env={"PYTHONPATH": str(installed)})
    assert run.returncode == 0, run.output[-4000:]
    [prov] = run.report["providers"]
    assert prov["provider"] == "example-store"
    assert prov["distribution"] == "memstack-example-store"
    assert prov["groups"]["persistence"]["status"] == "pass"
    assert prov["groups"]["plugin"]["status"] == "pass"
    skipped = {r for g in prov["groups"].values() for r in g["reasons"]}
    assert skipped == {
        "capability not declared: store does not declare 'multiprocess'",
        "capability not declared: store has no native keyword search ('keyword_search')",
        "capability not declared: store has no one-call hybrid search ('hybrid_query'); the "
        "engine combines `query` and `keyword_query`",
        "capability not declared: store has no payload-free query ('query_ids'); hybrid "
        "search uses `query`",
        "capability not declared: store has no separate write for new ids ('insert'); the "
        "engine uses `upsert`",
        "capability not declared: store has no bulk load context ('bulk_load'); large imports "
        "use plain writes",
    }


def test_example_plugin_is_found_by_memstack(installed, tmp_path):
    code = (
        "from memstack.registry import get_registry\n"
        "spec = get_registry().get('vector_store', 'example-store')\n"
        "print(spec.distribution, sorted(spec.capabilities)[:2])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("memstack-example-store")
