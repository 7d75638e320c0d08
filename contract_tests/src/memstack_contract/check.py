"""`run_check`: the contract suite for one installed provider, from Python or `memstack check`.

    from memstack_contract.check import run_check
    exit_code = run_check("vector_store:chroma", {"path": "{tmp_path}/db"})

Runs pytest in this process on the generated suite and prints a conformance table (group × result).
By default the run gets a temporary data directory (MEMSTACK_HOME, XDG data and cache) that is
removed afterwards, so providers that store under `memstack.paths` leave the user's data alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO


def run_check(
    provider: str,
    config: dict[str, Any] | None = None,
    report: str | None = None,
    extra_pytest_args: Sequence[str] = (),
    *,
    known_failures: dict[str, str] | None = None,
    out: TextIO | None = None,
    junit_xml: str | None = None,
    data_dir: str | None = None,
) -> int:
    """Run the suite on `provider` ("KIND:NAME", or "NAME" when unambiguous); return pytest's code.

    `config` is the provider's config (a dict; "{tmp_path}" in strings becomes each test's temporary
    directory). `report` writes REPORT.md/.json as `--memstack-report` does. `extra_pytest_args` go
    to pytest as given (e.g. ["-x"], ["-k", "filters"], or ["-n", "4"] with pytest-xdist
    installed). `known_failures` is `{test name: reason}`, the same declaration as a test
    class's `contract_xfail`: each runs as a strict expected failure, so the check passes with
    it and fails the day it is fixed.
    `junit_xml` is passed to pytest as `--junitxml`. With `report`, a badge is written too
    (PATH-badge.svg, PATH-badge.json in the shields.io endpoint format).

    The config is validated once before pytest starts: an invalid one is one line and exit code
    4 (usage error), not a failure per test. The run uses `data_dir` as MEMSTACK_HOME (kept), or
    by default a temporary directory that is removed afterwards.
    """
    import pytest

    from memstack_contract import cli_suite_path
    from memstack_contract import report as report_mod  # imports pytest: only when running

    stream = out or sys.stdout
    usage = _check_target(provider) or config_problem(provider, config)
    if usage:
        stream.write(f"memstack check: {usage}\n")
        return int(pytest.ExitCode.USAGE_ERROR)
    with tempfile.TemporaryDirectory(prefix="memstack-check-") as tmp, \
            isolated_data_dir(data_dir):
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
            # each test's tmp_path too: removed with the rest, not kept in pytest-of-USER
            "--basetemp", str(Path(tmp) / "basetemp"),
            # memstack_contract/__init__ is imported already (by this function); harmless.
            "-W", "ignore:Module already imported so cannot be rewritten",
            "-q",
            *[f"--memstack-xfail={name}={reason}"
              for name, reason in (known_failures or {}).items()],
            *([f"--junitxml={junit_xml}"] if junit_xml else []),
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
        svg, badge = report_mod.write_badge(doc, report, passed=code == 0)
        stream.write(f"report written to {md} and {js}; badge: {svg}, {badge}\n")
    if junit_xml:
        stream.write(f"JUnit XML written to {junit_xml}\n")
    return code


_DATA_VARS = ("MEMSTACK_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HF_HOME", "TORCH_HOME")


@contextlib.contextmanager
def isolated_data_dir(data_dir: str | None = None) -> Iterator[Path]:
    """Point MEMSTACK_HOME and the XDG data/cache directories at `data_dir`, or at a temporary
    directory removed on exit, and restore the environment afterwards.

    Providers that default their storage under `memstack.paths` (chroma, sqlite history, the
    exported ONNX model) then write there, never into the user's data directory. Model caches
    of other libraries (Hugging Face, torch) keep their current location, so an offline model
    that is already cached is still found.
    """
    saved = {name: os.environ.get(name) for name in _DATA_VARS}
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    created = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="memstack-check-data-")) if created else Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    try:
        os.environ.setdefault("HF_HOME", str(Path(cache) / "huggingface"))
        os.environ.setdefault("TORCH_HOME", str(Path(cache) / "torch"))
        os.environ["MEMSTACK_HOME"] = str(root)
        os.environ["XDG_DATA_HOME"] = str(root / "xdg-data")
        os.environ["XDG_CACHE_HOME"] = str(root / "xdg-cache")
        yield root
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if created:
            shutil.rmtree(root, ignore_errors=True)


def parse_config(text: str | None) -> dict[str, Any] | None:
    """`--config` JSON as a dict, or a one-line ConfigError (malformed JSON, not an object)."""
    from memstack.errors import ConfigError

    if not text:
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--config is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="config", allowed='a JSON object, e.g. \'{"path": "{tmp_path}/db"}\'',
        ) from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"--config must be a JSON object, got {type(config).__name__}",
            field="config", allowed='a JSON object, e.g. \'{"path": "{tmp_path}/db"}\'',
        )
    return config


def substitute_tmp_path(value: Any, tmp: str) -> Any:
    """`value` with "{tmp_path}" in every string (nested in lists and dicts) replaced by `tmp`."""
    if isinstance(value, str):
        return value.replace("{tmp_path}", tmp)
    if isinstance(value, list):
        return [substitute_tmp_path(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: substitute_tmp_path(v, tmp) for k, v in value.items()}
    return value


def config_problem(provider: str, config: dict[str, Any] | None) -> str | None:
    """Why `config` is not a valid config for `provider` (one line), or None.

    Validated as the suite will build it: "{tmp_path}" replaced by a temporary path and, for a
    vector store, the `collection` and `dimension` the suite adds.
    """
    from memstack.errors import MemstackError
    from memstack.registry import get_registry

    kind, name = _resolve(provider)
    with tempfile.TemporaryDirectory(prefix="memstack-check-config-") as tmp:
        candidate = substitute_tmp_path(dict(config or {}), tmp)
        if kind == "vector_store":
            candidate = {**candidate, "collection": "ct_0123456789abcdef", "dimension": 8}
        try:
            get_registry().validate_config(kind, name, candidate)
        except MemstackError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            return " ".join([lines[0], "; ".join(lines[1:])]).strip() if lines else str(exc)
    return None


def _resolve(provider: str) -> tuple[str, str]:
    """(kind, name) of a provider `_check_target` accepted."""
    from memstack.registry import get_registry

    kind, sep, name = provider.partition(":")
    if sep:
        return kind, name
    [kind] = sorted({k for (k, n) in get_registry().specs if n == provider})
    return kind, provider


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

    from memstack.errors import ConfigError

    parser = argparse.ArgumentParser(prog="python -m memstack_contract.check")
    parser.add_argument("provider", help="KIND:NAME, e.g. vector_store:memory")
    add_check_options(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    ns = parser.parse_args(argv)
    try:
        config = parse_config(ns.config)
        failures = known_failures(ns.xfail)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_check(ns.provider, config, ns.report, extra, known_failures=failures,
                     junit_xml=ns.junit_xml, data_dir=ns.data_dir)


CONFIG_HELP = (
    'provider config as a JSON object, e.g. \'{"path": "{tmp_path}/db"}\'; "{tmp_path}" in a '
    "string becomes each test's own temporary directory. Validated once before the run")


def add_check_options(parser: Any) -> None:
    """The options `memstack check` and `python -m memstack_contract.check` share."""
    parser.add_argument("--config", default=None, help=CONFIG_HELP)
    parser.add_argument(
        "--report", default=None, metavar="PATH",
        help="write the conformance table (PATH.md, PATH.json) and a badge "
        "(PATH-badge.svg, PATH-badge.json for a shields.io endpoint)")
    parser.add_argument("--junit-xml", default=None, metavar="PATH",
                        help="write pytest's JUnit XML report to PATH (for CI test views)")
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help="use DIR as MEMSTACK_HOME for the run and keep it (default: a temporary "
        "directory, removed afterwards; the user's data directory is never touched)")
    add_xfail_option(parser)


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
