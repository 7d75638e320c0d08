"""Registration, config validation, and the promise that importing the plugin stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memstack.capabilities import STRUCTURED_OUTPUT
from memstack.errors import ConfigError
from memstack.registry import get_registry


def test_importing_the_plugin_does_not_import_the_sdk():
    code = (
        "import sys, memstack_anthropic, memstack_anthropic.plugin, memstack_anthropic.config, "
        "memstack_anthropic.testing, memstack_anthropic.errors\n"
        "from memstack.registry import get_registry\n"
        "get_registry().get('llm', 'anthropic')\n"
        "heavy = [m for m in ('anthropic', 'httpx', 'httpx2', 'anyio') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_provider_is_registered():
    spec = get_registry().get("llm", "anthropic")
    assert spec.distribution == "memstack-anthropic"
    assert STRUCTURED_OUTPUT in spec.capabilities and spec.summary


@pytest.mark.parametrize("config, field", [
    ({"max_tokens": 0}, "max_tokens"),
    ({"temperature": 1.5}, "temperature"),
    ({"structured_output": "json_mode"}, "structured_output"),
    ({"timeout": 0}, "timeout"),
    ({"unknown_field": 1}, "unknown_field"),
])
def test_invalid_configs_name_the_problem(config, field):
    with pytest.raises(ConfigError, match=field):
        get_registry().build("llm", "anthropic", config)
