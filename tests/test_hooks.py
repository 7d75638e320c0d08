"""Pipeline hooks go through pluggy: tryfirst / trylast / wrapper behave as pluggy documents,
a failing observer does not hide the event from the others, and a hook name that matches no
hookspec fails its plugin (by hand and through an entry point) instead of silently never running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import memstack
from memstack import Memory
from memstack.plugins import plugin_system
from tests.test_plugin_discovery import by_dist, make_dist, run_cli


class Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log


def _plugin(name: str, log: list[str], **opts: Any) -> object:
    class P(Recorder):
        @memstack.hookimpl(**opts)
        def memstack_before_search(self, ctx):  # type: ignore[no-untyped-def]
            self.log.append(self.name)

    return P(name, log)


def test_tryfirst_runs_first_and_trylast_last(memory: Memory, fresh_plugins) -> None:
    log: list[str] = []
    memstack.register(_plugin("first", log, tryfirst=True), name="first")
    memstack.register(_plugin("plain-a", log), name="plain-a")
    memstack.register(_plugin("last", log, trylast=True), name="last")
    memstack.register(_plugin("plain-b", log), name="plain-b")
    memory.search("anything", user_id="u")
    # pluggy: tryfirst first, trylast last, the others newest-registered first
    assert log == ["first", "plain-b", "plain-a", "last"]


def test_wrapper_hooks_wrap_the_others(memory: Memory, fresh_plugins) -> None:
    log: list[str] = []

    class Wrapper:
        @memstack.hookimpl(wrapper=True)
        def memstack_before_search(self, ctx):  # type: ignore[no-untyped-def]
            log.append("before")
            result = yield
            log.append("after")
            ctx.limit = 1  # a wrapper may change the context after the others ran
            return result

    memstack.register(Wrapper(), name="wrapper")
    memstack.register(_plugin("inner", log), name="inner")
    memory.add(["tea one", "tea two", "tea three"], user_id="u", infer=False)
    found = memory.search("tea", user_id="u", limit=3)
    assert log == ["before", "inner", "after"]
    assert len(found.results) == 1


def test_a_failing_observer_does_not_hide_the_event_from_others(memory: Memory,
                                                                 fresh_plugins) -> None:
    seen: list[str] = []

    class Broken:
        @memstack.hookimpl(tryfirst=True)
        def memstack_after_change(self, ctx):  # type: ignore[no-untyped-def]
            raise RuntimeError("metrics down")

    class Audit:
        @memstack.hookimpl
        def memstack_after_change(self, ctx):  # type: ignore[no-untyped-def]
            seen.append(ctx.event.event)

    memstack.register(Broken(), name="broken-observer")
    memstack.register(Audit(), name="audit")
    event = memory.add("kept anyway", user_id="u", infer=False).results[0]
    assert event.event == "ADD" and seen == ["ADD"]
    assert "metrics down" in (plugin_system().infos["broken-observer"].error or "")


def test_a_strict_hook_error_names_the_plugin(memory: Memory, fresh_plugins) -> None:
    class Fine:
        @memstack.hookimpl
        def memstack_before_add(self, ctx):  # type: ignore[no-untyped-def]
            pass

    class Broken:
        @memstack.hookimpl
        def memstack_before_add(self, ctx):  # type: ignore[no-untyped-def]
            raise ValueError("cannot redact")

    memstack.register(Broken(), name="the-redactor")
    memstack.register(Fine(), name="fine")
    with pytest.raises(memstack.PluginError, match="'the-redactor' failed in memstack_before_add"):
        memory.add("secret", user_id="u")


def test_registering_a_misspelled_hook_is_refused(fresh_plugins) -> None:
    class Typo:
        @memstack.hookimpl
        def memstack_after_serch(self, ctx):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(memstack.PluginError, match="did you mean 'memstack_after_search'"):
        memstack.register(Typo(), name="typo")
    assert "typo" not in plugin_system().infos
    assert plugin_system().pm.get_plugin("typo") is None


def test_a_packaged_plugin_with_a_misspelled_hook_is_failed(tmp_path: Path) -> None:
    make_dist(tmp_path, "memstack-typo", "typo_plugin", """
        from memstack import hookimpl
        @hookimpl
        def memstack_befor_add(ctx):
            ctx.metadata["seen"] = True
    """)
    proc = run_cli(tmp_path, "plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    row = by_dist(json.loads(proc.stdout))["memstack-typo"]
    assert row["status"] == "failed"
    assert "memstack_befor_add" in row["error"] and "memstack_before_add" in row["error"]


def test_plugin_commands_come_through_the_hook(tmp_path: Path) -> None:
    make_dist(tmp_path, "memstack-hello", "hello_plugin", """
        from memstack import hookimpl
        @hookimpl
        def memstack_commands(subparsers):
            p = subparsers.add_parser("hello", help="say hello")
            p.add_argument("name")
            p.set_defaults(func=lambda args: print(f"hello {args.name}") or 3)
    """)
    make_dist(tmp_path, "memstack-clash", "clash_plugin", """
        from memstack import hookimpl
        @hookimpl
        def memstack_commands(subparsers):
            subparsers.add_parser("demo", help="takes a name the core uses")
    """)
    proc = run_cli(tmp_path, "hello", "world")
    assert proc.returncode == 3 and proc.stdout.strip() == "hello world", proc.stderr
    listing = run_cli(tmp_path, "--help").stdout
    assert "hello" in listing and "check" in listing  # check: from memstack-contract-tests
    rows = by_dist(json.loads(run_cli(tmp_path, "plugins", "--json").stdout))
    assert rows["memstack-clash"]["status"] == "failed"
    assert "conflicting subparser" in rows["memstack-clash"]["error"]
    assert rows["memstack-hello"]["status"] == "loaded"
