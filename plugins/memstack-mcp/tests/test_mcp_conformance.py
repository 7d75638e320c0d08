"""The protocol's conformance kit (@modelcontextprotocol/conformance from npm) against a real
`memstack mcp --http`, whole active suite in one run: every scenario about the protocol itself
passes, and every other one is a known fixture-dependent scenario listed in the README (so a new
failure, or a new scenario, is noticed)."""

from __future__ import annotations

from pathlib import Path

from mcp_conformance import APPLICABLE, NOT_APPLICABLE, run_kit, verdict


def test_conformance_suite(node_modules: Path, http_server: str, tmp_path: Path) -> None:
    results = run_kit(http_server, tmp_path / "out")
    assert set(results) == set(APPLICABLE) | set(NOT_APPLICABLE) | {"tools-call-simple-text"}
    failing = {name: verdict(checks)[3] for name, checks in results.items()
               if not verdict(checks)[0]}
    assert set(APPLICABLE).isdisjoint(failing), failing
    assert set(failing) == set(NOT_APPLICABLE), failing
