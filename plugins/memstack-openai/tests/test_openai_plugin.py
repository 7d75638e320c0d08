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
        "import sys, memstack_openai, memstack_openai.plugin, memstack_openai.config, "
        "memstack_openai.testing, memstack_openai.errors\n"
        "from memstack.registry import get_registry\n"
        "get_registry().get('llm', 'openai'); get_registry().get('embedder', 'openai')\n"
        "heavy = [m for m in ('openai', 'httpx', 'httpx2', 'anyio', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_both_providers_are_registered():
    reg = get_registry()
    llm = reg.get("llm", "openai")
    emb = reg.get("embedder", "openai")
    assert llm.distribution == emb.distribution == "memstack-openai"
    assert STRUCTURED_OUTPUT in llm.capabilities
    assert llm.summary and emb.summary


@pytest.mark.parametrize("config, field", [
    ({"api_type": "azure", "azure_endpoint": "https://x.openai.azure.com"}, "api_version"),
    ({"api_type": "azure", "api_version": "2024-10-21"}, "azure_endpoint"),
    ({"azure_endpoint": "https://x.openai.azure.com"}, "api_type"),
    ({"structured_output": "xml"}, "structured_output"),
    ({"max_retries": -1}, "max_retries"),
    ({"unknown_field": 1}, "unknown_field"),
])
def test_invalid_llm_configs_name_the_problem(config, field):
    with pytest.raises(ConfigError, match=field):
        get_registry().build("llm", "openai", config)


def test_embedder_dimension_fields_must_agree():
    with pytest.raises(ConfigError, match="disagree"):
        get_registry().build("embedder", "openai", {"dimensions": 256, "dimension": 512})


def test_capabilities_follow_the_structured_output_mode(server, build):
    assert STRUCTURED_OUTPUT in build("llm", structured_output="json_schema").capabilities
    assert STRUCTURED_OUTPUT in build("llm", structured_output="tools").capabilities
    assert STRUCTURED_OUTPUT not in build("llm", structured_output="json_mode").capabilities
    assert STRUCTURED_OUTPUT not in build("llm", structured_output="none").capabilities
