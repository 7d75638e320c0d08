"""Fails loudly (never skips) when the parts of the OpenAI Agents SDK this package uses move:
`function_tool` (name_override, failure_error_function, a RunContextWrapper first argument),
`RunConfig.call_model_input_filter` with `CallModelData` / `ModelInputData`, the `Session`
protocol, and the `Model` interface the tests drive agents with (`agents.testing.ScriptedModel`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points, requires, version
from pathlib import Path

from agents import FunctionTool, RunConfig, RunContextWrapper, Session, SQLiteSession, function_tool
from agents.models.interface import Model
from agents.run_config import CallModelData, ModelInputData
from agents.testing import ScriptedModel
from memstack_openai_agents import RememberingSession
from packaging.requirements import Requirement


def test_openai_agents_installed_version_is_in_the_pinned_range() -> None:
    pins = [Requirement(r) for r in requires("memstack-openai-agents") or []]
    pin = next(r for r in pins if r.name == "openai-agents")
    installed = version("openai-agents")
    assert pin.specifier.contains(installed), (
        f"openai-agents {installed} is outside the tested range {pin.specifier}; run these "
        "tests on it and widen the pin in plugins/memstack-openai-agents/pyproject.toml")


def test_openai_agents_function_tool_interface() -> None:
    params = inspect.signature(function_tool).parameters
    assert {"name_override", "failure_error_function"} <= set(params)

    async def probe(ctx: RunContextWrapper[object], text: str) -> str:
        """Probe.

        Args:
            text: Some text.
        """
        return text

    tool = function_tool(probe, name_override="probe", failure_error_function=None)
    assert isinstance(tool, FunctionTool)
    assert tool.name == "probe"
    # The context argument is not part of what the model sees.
    assert list(tool.params_json_schema["properties"]) == ["text"]
    assert callable(tool.on_invoke_tool)
    assert "context" in {f.name for f in dataclasses.fields(RunContextWrapper)}


def test_openai_agents_run_config_and_session_interface() -> None:
    assert "call_model_input_filter" in {f.name for f in dataclasses.fields(RunConfig)}
    assert [f.name for f in dataclasses.fields(CallModelData)] == ["model_data", "agent",
                                                                    "context"]
    assert [f.name for f in dataclasses.fields(ModelInputData)] == ["input", "instructions"]
    for name in ("get_items", "add_items", "pop_item", "clear_session"):
        assert inspect.iscoroutinefunction(getattr(SQLiteSession, name)), name
    wrapped = RememberingSession(SQLiteSession("probe"), memory=object(), user_id="u")
    assert isinstance(wrapped, Session)  # the SDK's runtime-checkable protocol


def test_openai_agents_model_interface() -> None:
    assert {"get_response", "stream_response"} <= set(Model.__abstractmethods__)
    assert issubclass(ScriptedModel, Model)


def test_openai_agents_entry_point_loads_without_importing_the_framework(tmp_path: Path) -> None:
    """memstack imports every plugin's entry point at start: ours must not pull in `agents`."""
    names = {ep.value for ep in entry_points(group="memstack")}
    assert "memstack_openai_agents.plugin" in names
    config = {"vector_store": {"provider": "memory"}, "embedder": {"provider": "hashing"},
              "history_store": {"provider": "sqlite",
                                "config": {"path": str(tmp_path / "h.db")}}}
    code = (f"import json, sys, memstack\n"
            f"memstack.Memory({config!r}).close()\n"
            f"print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    env = {**os.environ, "MEMSTACK_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "memstack" in modules
    assert "agents" not in modules
