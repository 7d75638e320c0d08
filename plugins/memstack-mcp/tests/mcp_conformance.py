"""Run the MCP conformance kit (`@modelcontextprotocol/conformance`, npm) against a real
`memstack mcp --http` and print one markdown row per server scenario.

    .venv/bin/python plugins/memstack-mcp/tests/mcp_conformance.py     # whole active suite

Most scenarios of the kit call fixtures of its reference "everything" server (tools named
test_*, resources test://..., prompts test_prompt*); a memory server has none of them, so those
fail by design (the README lists them with the reason). `APPLICABLE` are the scenarios about
the protocol itself; the test suite asserts that each of them passes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from mcp_testkit import NODE_DIR, child_env, start_http, stop, write_config

KIT = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
APPLICABLE = ("server-initialize", "ping", "tools-list", "tools-call-error",
              "server-sse-multiple-streams", "resources-list", "prompts-list",
              "dns-rebinding-protection")
NOT_APPLICABLE = (
    "logging-set-level",             # no logging capability declared (deprecated, SEP-2577)
    "completion-complete",           # no prompts; completions of the kit's test prompt
    "tools-call-image", "tools-call-audio", "tools-call-embedded-resource",
    "tools-call-mixed-content", "tools-call-with-logging", "tools-call-with-progress",
    "tools-call-sampling", "tools-call-elicitation",      # the kit's fixture tools (test_*)
    "elicitation-sep1034-defaults", "elicitation-sep1330-enums",   # fixture tools that elicit
    "resources-read-text", "resources-read-binary", "resources-templates-read",
    "resources-subscribe", "resources-unsubscribe",       # fixture resources test://...
    "prompts-get-simple", "prompts-get-with-args", "prompts-get-embedded-resource",
    "prompts-get-with-image",                             # fixture prompts test_prompt*
)


def run_kit(url: str, out: Path, scenario: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Run one scenario (or the active suite); return each scenario's checks."""
    cmd = ["node", "--import", str(NODE_DIR / "node20-compat.mjs"), str(KIT), "server",
           "--url", url, "-o", str(out)]
    if scenario:
        cmd += ["--scenario", scenario]
    subprocess.run(cmd, cwd=NODE_DIR, capture_output=True, text=True, timeout=300)
    results: dict[str, list[dict[str, Any]]] = {}
    for checks in sorted(out.glob("server-*/checks.json")):
        match = re.match(r"server-(.+)-\d{4}-\d\d-\d\dT", checks.parent.name)
        if match:
            results[match.group(1)] = json.loads(checks.read_text())
    return results


def verdict(checks: list[dict[str, Any]]) -> tuple[bool, int, int, str]:
    passed = sum(c["status"] == "SUCCESS" for c in checks)
    failed = [c for c in checks if c["status"] == "FAILURE"]
    note = failed[0].get("errorMessage", "") if failed else ""
    return (not failed and passed > 0), passed, len(failed), note


def main() -> int:
    if not KIT.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_DIR, check=True)
    tmp = Path(tempfile.mkdtemp(prefix="memstack-mcp-conformance-"))
    try:
        home = tmp / "home"
        home.mkdir()
        cfg = write_config(tmp / "memstack.json", tmp)
        proc, url = start_http(["--user-id", "conformance", "--config", str(cfg)],
                               child_env(home))
        try:
            results = run_kit(url, tmp / "out")
        finally:
            stop(proc)
        print("| scenario | result | checks passed / failed | first failure |")
        print("|---|---|---|---|")
        for name, checks in results.items():
            ok, passed, failed, note = verdict(checks)
            print(f"| {name} | {'pass' if ok else 'FAIL'} | {passed} / {failed} | "
                  f"{note[:90]} |")
        bad = [n for n in APPLICABLE if not verdict(results.get(n, []))[0]]
        print(f"\napplicable scenarios failing: {bad or 'none'}")
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
