"""`memstack check` for any CI: a throwaway data directory, config validated up front, JUnit XML,
a badge next to the report, and the workflow file a plugin repository copies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from memstack_contract.check import config_problem, isolated_data_dir

CONTRACT_TESTS = Path(__file__).resolve().parents[1]
MEMSTACK = str(Path(sys.executable).with_name("memstack"))
DATA_VARS = ("MEMSTACK_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _env(home: Path, tmpdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DATA_VARS}
    env.update(HOME=str(home), TMPDIR=str(tmpdir), HF_HUB_OFFLINE="1", **extra)
    return env


def _run_check(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from memstack_contract.check import run_check\n"
                           + code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("where", ["home", "memstack_home"])
def test_check_leaves_the_users_data_directory_unchanged(tmp_path, where):
    """Chroma's default path is under memstack.paths.data_home(); the check must not write
    there (issue 18: 76 collections were left in the real data directory)."""
    home, tmpdir = tmp_path / "home", tmp_path / "tmp"
    tmpdir.mkdir()
    extra = {}
    if where == "home":
        data = home / ".local" / "share" / "memstack"
    else:
        data = tmp_path / "memstack-home"
        extra["MEMSTACK_HOME"] = str(data)
    (data / "chroma").mkdir(parents=True)
    (data / "chroma" / "mine.txt").write_text("the user's own data")
    before = _tree(home if where == "home" else data)
    done = _run_check("raise SystemExit(run_check('vector_store:chroma', None, None,"
                      " ['-k', 'crud or persistence']))", _env(home, tmpdir, **extra), tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "vector_store:chroma" in done.stdout and "PASS" in done.stdout
    assert _tree(home if where == "home" else data) == before
    assert list(tmpdir.iterdir()) == [], "the temporary data directory was not removed"


def test_data_dir_junit_xml_and_badge(tmp_path):
    """With --data-dir the run's data is kept where asked (proof that chroma writes under the
    redirected MEMSTACK_HOME); JUnit XML and the badge land next to the report."""
    data, out = tmp_path / "run-data", tmp_path / "out"
    done = _run_check(
        f"raise SystemExit(run_check('vector_store:chroma', None, {str(out / 'conf')!r},"
        f" ['-k', 'crud'], junit_xml={str(out / 'junit.xml')!r}, data_dir={str(data)!r}))",
        _env(tmp_path / "home", tmp_path), tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert (data / "chroma" / "chroma.sqlite3").exists()
    suites = ET.parse(out / "junit.xml").getroot()
    cases = suites.findall(".//testcase")
    assert cases and all("Chroma" in c.get("classname", "") for c in cases)
    assert not suites.findall(".//failure")
    assert json.loads((out / "conf-badge.json").read_text()) == {
        "schemaVersion": 1, "label": "memstack contract v4", "message": "pass",
        "color": "brightgreen"}
    svg = ET.fromstring((out / "conf-badge.svg").read_text())
    assert svg.tag.endswith("svg")
    assert [t.text for t in svg.iter() if t.tag.endswith("text")] == [
        "memstack contract v4", "pass"]
    assert (out / "conf.md").exists() and (out / "conf.json").exists()


def test_failing_check_writes_a_red_badge(tmp_path):
    done = _run_check(
        "raise SystemExit(run_check('llm:scripted', {'responses': ['not the word']},"
        f" {str(tmp_path / 'conf')!r}, ['-k', 'round_trip']))",
        _env(tmp_path / "home", tmp_path), tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    badge = json.loads((tmp_path / "conf-badge.json").read_text())
    assert (badge["message"], badge["color"]) == ("fail", "red")
    assert ">fail<" in (tmp_path / "conf-badge.svg").read_text()


@pytest.mark.parametrize(("config", "expected"), [
    ('{"path": ', "--config is not valid JSON"),
    ('["path"]', "--config must be a JSON object, got list"),
    ('{"pth": "{tmp_path}/db"}', "pth: unknown field"),
])
def test_bad_config_is_one_error_line(tmp_path, config, expected):
    done = subprocess.run([MEMSTACK, "check", "vector_store:chroma", "--config", config],
                          cwd=tmp_path, env=_env(tmp_path / "home", tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and expected in line, line


def test_unknown_provider_is_one_error_line(tmp_path):
    done = subprocess.run([MEMSTACK, "check", "vector_store:chromaa", "--config", "{}"],
                          cwd=tmp_path, env=_env(tmp_path / "home", tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "no vector_store provider named 'chromaa'" in line and "'chroma'" in line


def test_config_is_validated_as_the_suite_builds_it():
    """{tmp_path} is substituted and a vector store gets `collection`/`dimension`, so a
    correct config passes validation; a wrong value names the field on one line."""
    assert config_problem("vector_store:chroma", {"path": "{tmp_path}/db"}) is None
    assert config_problem("chroma", None) is None
    assert config_problem("embedder:hashing", {"dimension": 12}) is None
    problem = config_problem("embedder:hashing", {"dimension": "twelve"})
    assert problem and "dimension" in problem and "\n" not in problem


def test_isolated_data_dir_restores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path / "mine"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    with isolated_data_dir() as root:
        from memstack.paths import cache_home, data_home

        assert data_home() == root and cache_home().is_relative_to(root)
        (root / "chroma").mkdir()
    assert not root.exists()
    assert os.environ["MEMSTACK_HOME"] == str(tmp_path / "mine")
    assert "XDG_DATA_HOME" not in os.environ


def test_python_module_entry_validates_config_too(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "memstack_contract.check", "embedder:hashing",
         "--config", '{"dimension": "twelve"}'],
        cwd=tmp_path, env=_env(tmp_path / "home", tmp_path), capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "passed" not in done.stdout and "failed" not in done.stdout
    assert done.stdout.count("\n") == 1 and "dimension" in done.stdout


def test_shipped_ci_workflow_runs_memstack_check():
    """The workflow a plugin repository copies: valid YAML, runs on push, runs `memstack check`
    with JUnit XML and a report, and the README points at it."""
    path = CONTRACT_TESTS / "ci" / "memstack-contract.yml"
    doc = yaml.safe_load(path.read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "push" in triggers and "pull_request" in triggers
    steps = doc["jobs"]["contract"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    check = [r for r in runs if "memstack check" in r]
    assert check and "--junit-xml" in check[0] and "--report" in check[0]
    assert any("pip install" in r and "memstack-contract-tests" in r for r in runs)
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    assert "ci/memstack-contract.yml" in (CONTRACT_TESTS / "README.md").read_text()
