"""Helpers for the suite's own tests: run pytest in a subprocess and read its conformance report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent


@dataclass
class SuiteRun:
    returncode: int
    output: str
    report: dict[str, Any]

    def outcomes(self, cls: str) -> dict[str, tuple[str, str]]:
        """{test name with params: (outcome, reason)} for one contract class of the run."""
        out = {}
        for p in self.report["providers"]:
            for t in p["tests"]:
                parts = t["nodeid"].split("::")
                if len(parts) >= 3 and parts[-2] == cls:
                    out[parts[-1]] = (t["outcome"], t["reason"])
        return out

    def failed(self, cls: str) -> set[str]:
        return {n for n, (o, _) in self.outcomes(cls).items() if o == "fail"}


def run_pytest(
    args: list[str], tmp_path: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> SuiteRun:
    report = tmp_path / "report"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           "--memstack-report", str(report), *args]
    done = subprocess.run(
        cmd, cwd=cwd or REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, **(env or {})},
    )
    js = report.with_name("report.json")
    doc = json.loads(js.read_text()) if js.exists() else {"providers": []}
    return SuiteRun(done.returncode, done.stdout + done.stderr, doc)


@pytest.fixture(scope="session")
def suite_runner():
    """`run(args, tmp_path, cwd=None, env=None) -> SuiteRun`: pytest in a subprocess."""
    return run_pytest
