"""Images (issue 20): a chat message's image parts reach the API as `image_url` parts in the
describe call, the description's facts are stored; `vision: false` is the core's typed error."""

from __future__ import annotations

from typing import Any

import pytest
from memstack_openai.testing import FakeOpenAIServer

from memstack import Memory
from memstack.errors import UnsupportedFeature

PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJ"
           "RU5ErkJggg==")
PNG = f"data:image/png;base64,{PNG_B64}"
OPENAI_MSG = {"role": "user", "content": [
    {"type": "text", "text": "This is my new bike"},
    {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}]}
ANTHROPIC_MSG = {"role": "user", "content": [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
    {"type": "image", "source": {"type": "url", "url": "https://example.com/bike.jpg"}}]}


def config(server: FakeOpenAIServer, tmp_path: Any, **llm: Any) -> dict[str, Any]:
    return {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "openai", "config": server.embedder_config()},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
        "llm": {"provider": "openai", "config": server.llm_config(**llm)},
    }


def seeing(body: dict[str, Any]) -> str:
    """Describe calls (no schema) answer a description; the extraction answers facts of it."""
    if "response_format" not in body:
        return "A red road bike leaning on a wall."
    name = body["response_format"]["json_schema"]["name"]
    if name == "facts" and "[image: A red road bike" in str(body["messages"]):
        return '{"facts": ["Maya owns a red road bike"]}'
    if name == "facts":
        return '{"facts": []}'
    return ('{"memory": [{"id": "n", "text": "Maya owns a red road bike", "event": "ADD", '
            '"old_memory": null}]}')


@pytest.mark.parametrize(("message", "urls"), [
    (OPENAI_MSG, [{"url": PNG, "detail": "low"}]),
    (ANTHROPIC_MSG, [{"url": PNG}, {"url": "https://example.com/bike.jpg"}]),
], ids=["openai-shape", "anthropic-shape"])
def test_image_goes_out_as_image_url_and_its_facts_are_stored(
        server: FakeOpenAIServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
        message: dict[str, Any], urls: list[dict[str, Any]]) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    server.chat_handler = seeing
    with Memory(config(server, tmp_path)) as m:
        assert "vision" in m.llm.capabilities
        out = m.add([message], user_id="maya")
        assert [r.memory for r in out.results] == ["Maya owns a red road bike"]
        assert [h.memory for h in m.get_all(user_id="maya").results] == [
            "Maya owns a red road bike"]
    describe = server.chat_requests[0].body
    assert "response_format" not in describe
    parts = describe["messages"][-1]["content"]
    assert parts[0]["type"] == "text"
    assert parts[0]["text"] == ("This is my new bike" if message is OPENAI_MSG else "[image]")
    assert parts[1:] == [{"type": "image_url", "image_url": u} for u in urls]
    # no later request carries the image again: the description stands in for it
    assert all("image_url" not in str(r.body) for r in server.chat_requests[1:])


def test_vision_off_is_the_typed_error_naming_what_to_configure(
        server: FakeOpenAIServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    with Memory(config(server, tmp_path, vision=False)) as m:
        assert "vision" not in m.llm.capabilities
        with pytest.raises(UnsupportedFeature, match="vision") as err:
            m.add([OPENAI_MSG], user_id="maya")
        assert "llm" in str(err.value)
        assert m.get_all(user_id="maya").results == []
    assert server.chat_requests == []
