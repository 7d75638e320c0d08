"""Azure OpenAI through the SDK's AzureOpenAI client: deployments path, api-version, api-key."""

from __future__ import annotations

import json

import pytest

from memstack.errors import ProviderAuthError, ProviderModelNotFound
from memstack.models import ChatMessage


def test_chat_goes_to_the_deployment_with_the_api_key_header(server, build):
    llm = build("llm", api_type="azure", model="gpt-test", max_tokens=20)
    assert llm.chat([ChatMessage(content="hi")]) == "echo: hi"
    (req,) = server.requests
    assert req.path == "/openai/deployments/gpt-test/chat/completions"
    assert req.query == {"api-version": "2024-10-21"}
    assert req.headers["api-key"] == server.api_key
    assert server.api_key not in req.headers.get("authorization", "")
    assert req.body["max_completion_tokens"] == 20


def test_structured_output_on_azure(server, build):
    server.add_chat_answer({"ok": True})
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    out = build("llm", api_type="azure").chat([ChatMessage(content="x")], response_schema=schema)
    assert json.loads(out) == {"ok": True}
    assert server.requests[0].body["response_format"]["type"] == "json_schema"


def test_azure_deployment_overrides_the_path(server, build):
    build("llm", api_type="azure", azure_deployment="gpt-test", model="my-model-name").chat(
        [ChatMessage(content="hi")]
    )
    assert server.requests[0].path == "/openai/deployments/gpt-test/chat/completions"


def test_embeddings_on_azure(server, build):
    vectors = build("embedder", api_type="azure", model="embed-test", dimension=64).embed(["a"])
    assert len(vectors[0]) == 64
    assert server.requests[0].path == "/openai/deployments/embed-test/embeddings"


def test_azure_key_from_its_own_variable(server, monkeypatch):
    from memstack.registry import get_registry

    monkeypatch.setenv("AZURE_OPENAI_API_KEY", server.api_key)
    llm = get_registry().build("llm", "openai", {
        "api_type": "azure", "azure_endpoint": server.azure_endpoint,
        "api_version": "2024-10-21", "model": "gpt-test"})
    assert llm.chat([ChatMessage(content="hi")]) == "echo: hi"
    llm.close()


def test_azure_errors_are_typed(server, build):
    with pytest.raises(ProviderAuthError, match="Access denied"):
        build("llm", api_type="azure", api_key="wrong-key-0000").chat([ChatMessage(content="x")])
    with pytest.raises(ProviderModelNotFound, match="deployment"):
        build("llm", api_type="azure", model="nope").chat([ChatMessage(content="x")])
