"""The shared LLM contract suite, run on the real SDK against the loopback server.

The server answers the suite's prompts with the suite's own `SCRIPT`: this tests the plumbing
(messages out, system pulled out, schema passed as a forced tool, text back, errors typed).
"""

from __future__ import annotations

from typing import Any

import pytest
from memstack_anthropic.testing import FakeAnthropicServer

from memstack_contract import LLMContract
from memstack_contract.llm import SCRIPT


def answer_from_script(body: dict[str, Any]) -> str:
    last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"].lower()
    for entry in SCRIPT:
        if entry["match"] in last:
            return entry["response"]
    return "no scripted answer for: " + last[-200:]


class TestAnthropicLLMContract(LLMContract):
    provider = "anthropic"

    @pytest.fixture
    def provider_config(self, server: FakeAnthropicServer) -> dict[str, Any]:
        server.handler = answer_from_script
        return {"base_url": server.base_url, "api_key": server.api_key, "model": "claude-test",
                "max_retries": 0, "timeout": 10}

    @pytest.fixture
    def failing_provider_config(self, server: FakeAnthropicServer) -> dict[str, Any]:
        return {"base_url": server.base_url, "api_key": "sk-ant-wrong-000000",
                "model": "claude-test", "max_retries": 0}


class TestAnthropicJsonSchemaLLMContract(LLMContract):
    provider = "anthropic"
    variant = "structured_output=json_schema"

    @pytest.fixture
    def provider_config(self, server: FakeAnthropicServer) -> dict[str, Any]:
        server.handler = answer_from_script
        return {"base_url": server.base_url, "api_key": server.api_key, "model": "claude-test",
                "max_retries": 0, "structured_output": "json_schema"}
