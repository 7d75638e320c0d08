"""The shared contract suites, run on the real SDK against the loopback server.

The server answers the suite's prompts with the suite's own `SCRIPT` (it tests the plumbing:
messages out, schema passed, text back, errors typed), and embeds deterministically.
"""

from __future__ import annotations

from typing import Any

import pytest
from memstack_openai.testing import FakeOpenAIServer

from memstack_contract import EmbedderContract, LLMContract
from memstack_contract.llm import SCRIPT


def answer_from_script(body: dict[str, Any]) -> str:
    prompt = " ".join(str(m.get("content", "")) for m in body["messages"]).lower()
    last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"].lower()
    for entry in SCRIPT:
        if entry["match"] in last:
            return entry["response"]
    return "no scripted answer for: " + prompt[-200:]


@pytest.fixture
def scripted_server(server: FakeOpenAIServer) -> FakeOpenAIServer:
    server.chat_handler = answer_from_script
    return server


class TestOpenAILLMContract(LLMContract):
    provider = "openai"

    @pytest.fixture
    def provider_config(self, scripted_server: FakeOpenAIServer) -> dict[str, Any]:
        return {"base_url": scripted_server.base_url, "api_key": scripted_server.api_key,
                "model": "gpt-test", "max_retries": 0, "timeout": 10}

    @pytest.fixture
    def failing_provider_config(self, scripted_server: FakeOpenAIServer) -> dict[str, Any]:
        return {"base_url": scripted_server.base_url, "api_key": "sk-wrong-0000000000",
                "model": "gpt-test", "max_retries": 0}


class TestOpenAIToolsLLMContract(LLMContract):
    provider = "openai"
    variant = "structured_output=tools"

    @pytest.fixture
    def provider_config(self, scripted_server: FakeOpenAIServer) -> dict[str, Any]:
        return {"base_url": scripted_server.base_url, "api_key": scripted_server.api_key,
                "model": "gpt-test", "max_retries": 0, "structured_output": "tools"}


class TestOpenAIEmbedderContract(EmbedderContract):
    provider = "openai"

    @pytest.fixture
    def provider_config(self, server: FakeOpenAIServer) -> dict[str, Any]:
        return {"base_url": server.base_url, "api_key": server.api_key,
                "model": "text-embedding-3-small", "dimensions": 96, "max_retries": 0}


class TestOpenAIPrefixedEmbedderContract(EmbedderContract):
    provider = "openai"
    variant = "query/document prefixes, base64"

    @pytest.fixture
    def provider_config(self, server: FakeOpenAIServer) -> dict[str, Any]:
        return {"base_url": server.base_url, "api_key": server.api_key, "model": "embed-test",
                "query_prefix": "search_query: ", "document_prefix": "search_document: ",
                "encoding_format": "base64", "batch_size": 2}
