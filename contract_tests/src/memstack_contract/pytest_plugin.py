"""The pytest side of the suite (entry point `pytest11`): options, guard, versions, report.

- `--memstack-provider KIND:NAME` (repeatable) and `--memstack-config JSON` generate contract
  classes for installed providers (`memstack_contract.cli_suite`), without writing a test file;
- `--memstack-report PATH` writes the conformance table as PATH.md and PATH.json;
- `--memstack-hypothesis-profile NAME` picks the hypothesis profile of generated-filter tests.
State lives on the pytest config (or in a stack of active configs), never in plain module globals,
so in-process runs (`run_check`, pytester) and xdist workers stay independent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from memstack_contract import guard
from memstack_contract.report import Collector, write
from memstack_contract.state import PROVIDER_FACTS
from memstack_contract.versioning import CONTRACT_VERSION, MARKER

COLLECTOR = pytest.StashKey[Collector]()
TARGETS = pytest.StashKey[list[tuple[str, str, dict[str, Any]]]]()
XFAILS = pytest.StashKey[dict[str, str]]()
CLI_MODULE = "memstack_contract.cli_suite"
_ACTIVE: list[pytest.Config] = []  # configs of the pytest sessions running in this process


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memstack", "memstack contract suite")
    group.addoption(
        "--memstack-provider", action="append", default=[], metavar="KIND:NAME",
        help="run the contract suite on an installed provider, e.g. vector_store:chroma "
        "(repeatable; KIND may be left out when NAME is unambiguous)",
    )
    group.addoption(
        "--memstack-config", action="append", default=[], metavar="JSON",
        help="provider config as JSON, once per --memstack-provider (or once for all); "
        "'{tmp_path}' in a string is replaced by each test's temporary directory",
    )
    group.addoption(
        "--memstack-report", default=None, metavar="PATH",
        help="write the conformance table to PATH.md and PATH.json (or PATH and its sibling, "
        "when PATH ends in .md or .json)",
    )
    group.addoption(
        "--memstack-xfail", action="append", default=[], metavar="TEST=REASON",
        help="a known failure of the generated suite, as `contract_xfail` declares it in a test "
        "class: runs as a strict expected failure (repeatable)",
    )
    group.addoption("--memstack-report-quiet", action="store_true", help=argparse.SUPPRESS)
    group.addoption(
        "--memstack-hypothesis-profile", default=None, metavar="NAME",
        help="hypothesis profile for generated-filter tests: memstack-contract (default, "
        "deterministic), memstack-contract-thorough, memstack-contract-explore",
    )


def parse_targets(config: pytest.Config) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, name, config) for every --memstack-provider, with its --memstack-config."""
    from memstack.capabilities import Kind

    providers: list[str] = config.getoption("memstack_provider") or []
    raw_configs: list[str] = config.getoption("memstack_config") or []
    if raw_configs and len(raw_configs) not in (1, len(providers)):
        raise pytest.UsageError(
            f"give --memstack-config once, or once per --memstack-provider ({len(providers)})"
        )
    configs = []
    for raw in raw_configs:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise pytest.UsageError(f"--memstack-config is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise pytest.UsageError("--memstack-config must be a JSON object")
        configs.append(value)
    targets = []
    for n, target in enumerate(providers):
        kind, sep, name = target.partition(":")
        if not sep:
            kind, name = _guess_kind(target), target
        try:
            kind = str(Kind(kind))
        except ValueError:
            allowed = ", ".join(k.value for k in Kind)
            raise pytest.UsageError(
                f"unknown kind {kind!r} in {target!r}; use one of: {allowed}"
            ) from None
        cfg = configs[n] if len(configs) == len(providers) else (configs[0] if configs else {})
        _require_installed(kind, name)
        targets.append((kind, name, cfg))
    return targets


def _require_installed(kind: str, name: str) -> None:
    from memstack.errors import MemstackError
    from memstack.registry import get_registry

    try:
        get_registry().get(kind, name)
    except MemstackError as exc:
        raise pytest.UsageError(str(exc)) from None


def _guess_kind(name: str) -> str:
    from memstack.registry import get_registry

    kinds = sorted({k for (k, n) in get_registry().specs if n == name})
    if len(kinds) != 1:
        found = f"offered as {', '.join(kinds)}" if kinds else "not installed"
        raise pytest.UsageError(f"provider {name!r} is {found}; write KIND:{name}")
    return kinds[0]


def parse_xfails(config: pytest.Config) -> dict[str, str]:
    """{test name: reason} from every --memstack-xfail TEST=REASON."""
    out = {}
    for raw in config.getoption("memstack_xfail") or []:
        name, sep, reason = raw.partition("=")
        if not sep or not name.strip() or not reason.strip():
            raise pytest.UsageError(
                f"--memstack-xfail {raw!r}: write TEST=REASON, e.g. "
                "test_payload_types_round_trip='ints above 2**53 become floats (issue #12)'")
        out[name.strip()] = reason.strip()
    return out


def active_xfails() -> dict[str, str]:
    """The --memstack-xfail declarations of the innermost running session (for `cli_suite`)."""
    return dict(_ACTIVE[-1].stash.get(XFAILS, {})) if _ACTIVE else {}


def active_targets() -> list[tuple[str, str, dict[str, Any]]]:
    """The --memstack-provider targets of the innermost running session (for `cli_suite`)."""
    return _ACTIVE[-1].stash.get(TARGETS, []) if _ACTIVE else []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(since, group): a memstack contract test, added in contract version `since`, "
        "reported under `group`",
    )
    from memstack_contract.strategies import register_profiles

    register_profiles()
    config.stash[COLLECTOR] = Collector()
    config.pluginmanager.register(_Reporter(config), "memstack-contract-report")
    config.stash[TARGETS] = parse_targets(config)
    config.stash[XFAILS] = parse_xfails(config)
    _ACTIVE.append(config)
    if config.stash[TARGETS]:
        sys.modules.pop(CLI_MODULE, None)  # rebuilt for this session's targets
        module_file = str(Path(__file__).with_name("cli_suite.py"))
        args = [a for a in config.args if "cli_suite" not in a]
        if config.args_source != pytest.Config.ArgsSource.ARGS:
            args = []  # no paths given: run just the generated suite, not the testpaths
        config.args[:] = [*args, module_file]


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _ACTIVE:
        _ACTIVE.remove(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    targets = config.stash.get(TARGETS, [])
    line = f"memstack contract suite: contract version {CONTRACT_VERSION}"
    if targets:
        line += "; providers: " + ", ".join(f"{k}:{n}" for k, n, _ in targets)
    return [line]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        cls = getattr(item, "cls", None)
        if not guard.is_contract_class(cls):
            continue
        name = getattr(item, "originalname", item.name)
        info = guard.official_info(cls, name)
        if info is not None:  # so that `-k filters` selects a report group
            item.extra_keyword_matches.add(info.group)
        reason = (getattr(cls, "contract_xfail", None) or {}).get(name)
        if isinstance(reason, str) and reason.strip():
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Enforce the guard before anything (even a class-level skip) can hide a violation."""
    cls = getattr(item, "cls", None)
    if not guard.is_contract_class(cls) or guard.is_official(cls):
        return
    name = getattr(item, "originalname", item.name)
    if name == guard.GUARD_TEST or not guard.guard_intact(cls):
        problems = guard.violations(cls)
        if problems:
            pytest.fail(guard.describe(problems), pytrace=False)


def provider_label(cls: type) -> str:
    name = getattr(cls, "provider", None) or cls.__name__
    variant = getattr(cls, "variant", None)
    return f"{name} [{variant}]" if variant else name


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    cls = getattr(item, "cls", None)
    name = getattr(item, "originalname", item.name)
    info = guard.official_info(cls, name) if guard.is_contract_class(cls) else None
    if info is not None and not guard.is_official(cls):
        report.memstack_contract = {
            "kind": getattr(cls, "kind", ""),
            "provider": provider_label(cls),
            "test": name,
            "group": info.group,
            "since": info.since,
            "facts": dict(item.stash.get(PROVIDER_FACTS, {})),
        }
    return report


class _Reporter:
    """Per-session: collects contract results (also from xdist workers) and writes the report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.config.stash[COLLECTOR].add(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("memstack_report")
        if not path or hasattr(self.config, "workerinput") or self.config.option.collectonly:
            return
        md, js = write(self.config.stash[COLLECTOR].as_dict(), path)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not self.config.getoption("memstack_report_quiet"):
            reporter.write_line(f"memstack conformance report: {md} and {js}")
