"""The command-line way: --memstack-provider/--memstack-config, and `run_check`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from memstack_contract import cli_suite_path


def test_provider_option_runs_the_generated_suite(suite_runner, tmp_path):
    run = suite_runner(
        ["--memstack-provider", "vector_store:memory", "-k", "crud or pagination"],
        tmp_path, cwd=tmp_path,
    )
    assert run.returncode == 0, run.output[-3000:]
    [memory] = run.report["providers"]
    assert memory["provider"] == "memory"
    assert set(memory["groups"]) == {"crud", "pagination"}
    assert all(t["nodeid"].split("::")[-2] == "TestMemoryVectorStoreContract"
               for t in memory["tests"])


def test_config_option_reaches_the_provider(suite_runner, tmp_path):
    run = suite_runner(
        ["--memstack-provider", "history_store:sqlite", "--memstack-provider", "embedder:hashing",
         "--memstack-config", json.dumps({"path": "{tmp_path}/history.db"}),
         "--memstack-config", json.dumps({"dimension": 12}), "-k", "not import_is_light"],
        tmp_path, cwd=tmp_path,
    )
    assert run.returncode == 0, run.output[-3000:]
    groups = {p["provider"]: p["groups"] for p in run.report["providers"]}
    assert groups["sqlite"]["persistence"]["status"] == "pass"
    assert groups["hashing"]["embedder"]["status"] == "pass"


def test_unknown_provider_is_a_usage_error(suite_runner, tmp_path):
    run = suite_runner(["--memstack-provider", "vector_store:nope"], tmp_path, cwd=tmp_path)
    assert run.returncode == 4
    assert "no vector_store provider named 'nope'" in run.output


def _check(tmp_path, code):
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)


def test_run_check_prints_a_table_and_returns_the_exit_code(tmp_path):
    done = _check(tmp_path, (
        "from memstack_contract.check import run_check\n"
        "raise SystemExit(run_check('memory', None, 'out/conf', ['-k', 'crud or filters']))"
    ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "vector_store:memory (memstack" in done.stdout
    assert re.search(r"^  crud +pass \(1 skipped\)$", done.stdout, re.M)  # no bulk_load
    assert re.search(r"^  filters +pass$", done.stdout, re.M)
    doc = json.loads((tmp_path / "out" / "conf.json").read_text())
    assert doc["providers"][0]["status"] == "pass"
    assert (tmp_path / "out" / "conf.md").exists()


def test_run_check_reports_failures(tmp_path):
    done = _check(tmp_path, (
        "from memstack_contract.check import run_check\n"
        "raise SystemExit(run_check('llm:scripted', {'responses': ['not the word']},"
        " None, ['-k', 'round_trip']))"
    ))
    assert done.returncode == 1
    assert "llm:scripted" in done.stdout and "FAIL 1/1" in done.stdout
    assert "test_chat_round_trip: AssertionError: asked for 'pong'" in done.stdout


def test_run_check_rejects_unknown_providers(tmp_path):
    done = _check(tmp_path, (
        "from memstack_contract.check import run_check\n"
        "raise SystemExit(run_check('embedder:nope'))"
    ))
    assert done.returncode == 4
    assert "no embedder provider named 'nope'" in done.stdout


@pytest.mark.parametrize("module_arg", ["path", "pyargs"])
def test_generated_module_can_be_named_explicitly(suite_runner, tmp_path, module_arg):
    target = (["--pyargs", "memstack_contract.cli_suite"] if module_arg == "pyargs"
              else [cli_suite_path()])
    run = suite_runner([*target, "--memstack-provider", "reranker:token-overlap"],
                       tmp_path, cwd=tmp_path)
    assert run.returncode == 0, run.output[-3000:]
    [prov] = run.report["providers"]
    assert prov["groups"]["reranker"]["passed"] == 5


def test_run_check_accepts_known_failures_as_strict_xfail(tmp_path):
    """The same declaration as a class's `contract_xfail`: a known failure passes the check,
    and the day it is fixed the check fails (strict), like Ibis's expected failures."""
    done = _check(tmp_path, (
        "from memstack_contract.check import run_check\n"
        "raise SystemExit(run_check('llm:scripted', {'responses': ['not the word']},"
        " None, ['-k', 'round_trip'],"
        " known_failures={'test_chat_round_trip': 'scripted to say something else'}))"
    ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"^  llm +xfail", done.stdout, re.M), done.stdout[-2000:]
    fixed = _check(tmp_path, (
        "from memstack_contract.check import run_check\n"
        "raise SystemExit(run_check('reranker:token-overlap', None, None, ['-k', 'top_k'],"
        " known_failures={'test_top_k': 'thought broken'}))"
    ))
    assert fixed.returncode == 1, fixed.stdout[-3000:]
    assert "XPASS(strict)" in fixed.stdout


def test_memstack_check_command_takes_xfail(tmp_path):
    """`memstack check --xfail TEST=REASON` reaches the suite: a declared failure that passes
    fails the check."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("memstack")), "check", "reranker:token-overlap",
         "--xfail", "test_top_k=thought broken"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "test_top_k: [XPASS(strict)] thought broken" in done.stdout, done.stdout[-3000:]


def test_memstack_check_help_explains_the_ci_options(tmp_path):
    """--help names the `{tmp_path}` placeholder (issue 18: it did not) and the CI options."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("memstack")), "check", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    text = " ".join(done.stdout.split())
    assert "{tmp_path}" in text and "--config" in text
    for option in ("--junit-xml", "--report", "--data-dir", "--xfail"):
        assert option in text
    assert "badge" in text and "temporary directory" in text


def test_python_module_check_takes_the_same_options(tmp_path):
    done = _check(tmp_path, (
        "from memstack_contract.check import main\n"
        "raise SystemExit(main(['reranker:token-overlap', '--junit-xml', 'j.xml',"
        " '--', '-k', 'top_k']))"
    ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "<testcase" in (tmp_path / "j.xml").read_text()
    assert re.search(r"^  reranker +pass$", done.stdout, re.M), done.stdout[-2000:]
