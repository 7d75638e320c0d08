"""The conformance report: several providers in one run (also under xdist), Markdown and JSON."""

from __future__ import annotations

import json

import pytest

from memstack_contract import report
from memstack_contract.versioning import CONTRACT_VERSION

FAKES = "contract_tests/tests/test_contract_fakes.py"


@pytest.fixture(scope="module")
def run(suite_runner, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    selected = "plugin_loads or spec_is_valid or empty_store or survives or keyword or embedder"
    return suite_runner([FAKES, "-n", "2", "-k", selected], tmp), tmp


def test_report_written_as_markdown_and_json(run):
    result, tmp = run
    assert result.returncode == 0, result.output[-3000:]
    md = (tmp / "report.md").read_text()
    doc = json.loads((tmp / "report.json").read_text())
    assert doc["contract_version"] == CONTRACT_VERSION == 4
    providers = {(p["kind"], p["provider"]) for p in doc["providers"]}
    assert providers == {("vector_store", "memory"), ("embedder", "hashing"),
                         ("llm", "scripted"), ("reranker", "token-overlap"),
                         ("history_store", "sqlite")}
    assert "## Vector stores" in md and "## Embedders" in md and "## History stores" in md
    assert "| memory | pass | — | pass |" in md


def test_report_shows_skips_with_their_reason(run):
    _, tmp = run
    doc = json.loads((tmp / "report.json").read_text())
    memory = next(p for p in doc["providers"] if p["provider"] == "memory")
    assert memory["groups"]["persistence"]["status"] == "skip"
    assert memory["groups"]["persistence"]["reasons"] == [
        "capability not declared: store does not declare 'persistent' (data is not kept across "
        "reopen)"]
    assert "exact_search" in memory["capabilities"]
    assert memory["distribution"] == "memstack" and memory["contract_level"] == 4
    assert memory["passes_level"] == 4 and "| 4 |" in (tmp / "report.md").read_text()
    sqlite = next(p for p in doc["providers"] if p["provider"] == "sqlite")
    assert sqlite["groups"]["persistence"]["status"] == "pass"
    md = (tmp / "report.md").read_text()
    assert "skip (store does not declare 'persistent'" in md


def test_passes_level():
    def t(since, outcome="pass", reason=""):
        return report.TestResult("x", "t", "g", outcome, reason, since)

    # Every test passes: the suite's own version, whatever the newest test's.
    assert report.passes_level([t(1), t(2), t(3)]) == CONTRACT_VERSION
    assert report.passes_level([t(1), t(3, "fail")]) == 2
    assert report.passes_level([t(1), t(2, "xfail"), t(3, "skip", "capability not declared")]
                               ) == CONTRACT_VERSION
    assert report.passes_level([t(1), t(3, "skip", "contract test added in contract version 3; "
                                          "provider targets contract level 2")]) == 2
    assert report.passes_level([t(1, "fail"), t(2)]) == 0


def test_cells():
    base = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0, "reasons": []}
    assert report.cell(None) == "—"
    assert report.cell({**base, "passed": 3, "status": "pass"}) == "pass"
    assert report.cell({**base, "passed": 3, "skipped": 1, "status": "pass"}) == "pass (1 skipped)"
    assert report.cell({**base, "passed": 3, "failed": 2, "status": "fail"}) == "FAIL 2/5"
    assert report.cell({**base, "skipped": 1, "status": "skip", "reasons": [
        "capability not declared: store has no native keyword search ('keyword_search')"]}) == (
        "skip (store has no native keyword search ('keyword_search'))")
    assert report.cell({**base, "skipped": 1, "status": "skip", "reasons": ["no server"]}) == (
        "skip (env: no server)")


@pytest.mark.parametrize(("given", "md", "js"), [
    ("docs/conformance.md", "docs/conformance.md", "docs/conformance.json"),
    ("out/c.json", "out/c.md", "out/c.json"),
    ("out/c", "out/c.md", "out/c.json"),
])
def test_report_paths(given, md, js):
    assert tuple(str(p) for p in report.report_paths(given)) == (md, js)
