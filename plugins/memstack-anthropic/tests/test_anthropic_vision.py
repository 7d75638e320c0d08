"""Images (issue 20): a chat message's image parts reach the Messages API as `image` blocks in
the describe call, the description's facts are stored; `vision: false` is the core's typed
error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from memstack_anthropic.testing import FakeAnthropicServer

from memstack import Memory
from memstack.errors import UnsupportedFeature

PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJ"
           "RU5ErkJggg==")
BIKE_URL = "https://example.com/bike.jpg"
OPENAI_MSG = {"role": "user", "content": [
    {"type": "text", "text": "This is my new bike"},
    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
    {"type": "image_url", "image_url": {"url": BIKE_URL}}]}
ANTHROPIC_MSG = {"role": "user", "content": [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
    {"type": "text", "text": "This is my new bike"}]}
BASE64_BLOCK = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                            "data": PNG_B64}}


def config(server: FakeAnthropicServer, tmp_path: Any, **llm: Any) -> dict[str, Any]:
    return {
        "vector_store": {"provider": "memory"},
        "embedder": {"provider": "hashing", "config": {"dimension": 64}},
        "history_store": {"provider": "sqlite", "config": {"path": str(tmp_path / "h.db")}},
        "llm": {"provider": "anthropic", "config": server.llm_config(**llm)},
    }


def seeing(body: dict[str, Any]) -> str:
    """Describe calls (no tool) answer a description; the extraction answers facts of it."""
    if "tools" not in body:
        return "A red road bike leaning on a wall."
    name = body["tool_choice"]["name"]
    if name == "facts":
        seen = "[image: A red road bike" in json.dumps(body["messages"])
        return json.dumps({"facts": ["Maya owns a red road bike"] if seen else []})
    return json.dumps({"memory": [{"id": "n", "text": "Maya owns a red road bike",
                                   "event": "ADD", "old_memory": None}]})


@pytest.mark.parametrize(("message", "blocks"), [
    (OPENAI_MSG, [BASE64_BLOCK, {"type": "image", "source": {"type": "url", "url": BIKE_URL}}]),
    (ANTHROPIC_MSG, [BASE64_BLOCK]),
], ids=["openai-shape", "anthropic-shape"])
def test_image_goes_out_as_image_blocks_and_its_facts_are_stored(
        server: FakeAnthropicServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
        message: dict[str, Any], blocks: list[dict[str, Any]]) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    server.handler = seeing
    with Memory(config(server, tmp_path)) as m:
        assert "vision" in m.llm.capabilities
        out = m.add([message], user_id="maya")
        assert [r.memory for r in out.results] == ["Maya owns a red road bike"]
        assert [h.memory for h in m.get_all(user_id="maya").results] == [
            "Maya owns a red road bike"]
    describe = server.message_requests[0].body
    assert "tools" not in describe
    assert "Describe" in describe["system"]  # the system prompt is top-level, not a turn
    content = describe["messages"][-1]["content"]
    assert content[:-1] == blocks
    assert content[-1] == {"type": "text", "text": "This is my new bike"}
    # no later request carries the image again: the description stands in for it
    assert all('"image"' not in json.dumps(r.body) for r in server.message_requests[1:])


def test_vision_off_is_the_typed_error_naming_what_to_configure(
        server: FakeAnthropicServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTACK_HOME", str(tmp_path))
    with Memory(config(server, tmp_path, vision=False)) as m:
        assert "vision" not in m.llm.capabilities
        with pytest.raises(UnsupportedFeature, match="vision") as err:
            m.add([ANTHROPIC_MSG], user_id="maya")
        assert "llm" in str(err.value)
        assert m.get_all(user_id="maya").results == []
    assert server.message_requests == []


def test_a_turn_with_images_merges_with_its_neighbour_as_one_block_list() -> None:
    from memstack_anthropic.llm import to_anthropic

    from memstack.models import ChatMessage

    _, turns = to_anthropic([ChatMessage(role="user", content="look", images=[BASE64_BLOCK]),
                             ChatMessage(role="user", content="nice, right?")])
    assert turns == [{"role": "user", "content": [
        BASE64_BLOCK, {"type": "text", "text": "look"}, {"type": "text", "text": "nice, right?"}]}]
