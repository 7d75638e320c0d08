"""`run_check`: the contract suite for one installed provider, from Python or `memstack check`.

    from memstack_contract.check import run_check
    exit_code = run_check("vector_store:chroma", {"path": "{tmp_path}/db"})

Runs pytest in this process on the generated suite and prints a conformance table (group × result).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from memstack_contract import report as report_mod


def run_check(
    provider: str,
    config: dict[str, Any] | None = None,
    report: str | None = None,
    extra_pytest_args: Sequence[str] = (),
    *,
    known_failures: dict[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the suite on `provider` ("KIND:NAME", or "NAME" when unambiguous); return pytest's code.

    `config` is the provider's config (a dict; "{tmp_path}" in strings becomes each test's temporary
    directory). `report` writes REPORT.md/.json as `--memstack-report` does. `extra_pytest_args` go
    to pytest as given (e.g. ["-x"], ["-k", "filters"], ["-n", "4"]). `known_failures` is
    `{test name: reason}`, the same declaration as a test class's `contract_xfail`: each runs as
    a strict expected failure, so the check passes with it and fails the day it is fixed.
    """
    import pytest

    from memstack_contract import cli_suite_path

    stream = out or sys.stdout
    usage = _check_target(provider)
    if usage:
        stream.write(f"memstack check: {usage}\n")
        return int(pytest.ExitCode.USAGE_ERROR)
    with tempfile.TemporaryDirectory(prefix="memstack-check-") as tmp:
        report_path = report or str(Path(tmp) / "conformance")
        ini = Path(tmp) / "pytest.ini"  # keep the caller's own pytest settings out of the run
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [
            cli_suite_path(),
            "--memstack-provider", provider,
            "--memstack-config", json.dumps(config or {}),
            "--memstack-report", report_path,
            "--memstack-report-quiet",
            "-p", "no:cacheprovider",
            "-c", str(ini),
            # memstack_contract/__init__ is imported already (by this function); harmless.
            "-W", "ignore:Module already imported so cannot be rewritten",
            "-q",
            *[f"--memstack-xfail={name}={reason}"
              for name, reason in (known_failures or {}).items()],
            *extra_pytest_args,
        ]
        if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
            args[:0] = ["-p", "memstack_contract.pytest_plugin"]
        code = int(pytest.main(args))
        try:
            doc = report_mod.load(report_path)
        except FileNotFoundError:
            stream.write("memstack check: no report was written (see pytest's output above)\n")
            return code or 1
    stream.write("\n" + report_mod.render_text(doc) + "\n")
    if report:
        md, js = report_mod.report_paths(report)
        stream.write(f"report written to {md} and {js}\n")
    return code


def _check_target(provider: str) -> str | None:
    """Why `provider` cannot be checked (not installed, ambiguous), or None."""
    from memstack.capabilities import Kind
    from memstack.errors import MemstackError
    from memstack.registry import get_registry

    kind, sep, name = provider.partition(":")
    registry = get_registry()
    if not sep:
        kinds = sorted({k for (k, n) in registry.specs if n == provider})
        if len(kinds) != 1:
            where = f"offered as {', '.join(kinds)}" if kinds else "not installed"
            return f"provider {provider!r} is {where}; write KIND:NAME (e.g. embedder:{provider})"
        return None
    if kind not in {k.value for k in Kind}:
        return f"unknown kind {kind!r}; use one of: {', '.join(k.value for k in Kind)}"
    try:
        registry.get(kind, name)
    except MemstackError as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m memstack_contract.check KIND:NAME [--config JSON] [--report PATH] [-- args]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m memstack_contract.check")
    parser.add_argument("provider", help="KIND:NAME, e.g. vector_store:memory")
    parser.add_argument("--config", default=None, help="provider config as JSON")
    parser.add_argument("--report", default=None, help="write PATH.md and PATH.json")
    add_xfail_option(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    ns = parser.parse_args(argv)
    config = json.loads(ns.config) if ns.config else None
    return run_check(ns.provider, config, ns.report, extra,
                     known_failures=known_failures(ns.xfail))


def add_xfail_option(parser: Any) -> None:
    parser.add_argument(
        "--xfail", action="append", default=[], metavar="TEST=REASON",
        help="a known failure (as `contract_xfail` in a test class): runs as a strict "
        "expected failure; repeatable")


def known_failures(pairs: Sequence[str]) -> dict[str, str]:
    """{test: reason} from TEST=REASON strings (a ConfigError names a malformed one)."""
    from memstack.errors import ConfigError

    out = {}
    for raw in pairs or []:
        name, sep, reason = raw.partition("=")
        if not sep or not name.strip() or not reason.strip():
            raise ConfigError(f"--xfail {raw!r}: write TEST=REASON", field="xfail", given=raw,
                              allowed="TEST=REASON, e.g. test_keyword_query='no stemming'")
        out[name.strip()] = reason.strip()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
