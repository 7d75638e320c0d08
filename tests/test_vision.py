"""Images in chat messages (issue 20): described by an LLM with 'vision', else a typed error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from memstack import Memory
from memstack.errors import InvalidInput, UnsupportedFeature
from memstack_contract.fakes.scripted_llm import ScriptedLLM

PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
       "/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")
OPENAI = {"role": "user", "content": [
    {"type": "text", "text": "This is my new bike"},
    {"type": "image_url", "image_url": {"url": PNG}}]}
ANTHROPIC = {"role": "user", "content": [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                 "data": PNG.split(",", 1)[1]}}]}


def seeing_llm() -> ScriptedLLM:
    def handler(messages, schema):  # type: ignore[no-untyped-def]
        if schema is None:  # the description request: it must carry the image parts
            assert messages[-1].images, "the LLM was not given the image"
            kind = messages[-1].images[0]["type"]
            return f"A red road bike leaning on a wall ({kind})."
        if "facts" in json.dumps(schema):
            text = messages[-1].content
            assert "[image: A red road bike" in text
            return json.dumps({"facts": ["Maya owns a red road bike"]})
        return json.dumps({"memory": [{"id": "n", "text": "Maya owns a red road bike",
                                       "event": "ADD"}]})

    llm = ScriptedLLM(handler=handler)
    llm.capabilities = llm.capabilities | {"vision"}
    return llm


@pytest.mark.parametrize("message", [OPENAI, ANTHROPIC], ids=["openai", "anthropic"])
def test_image_is_described_then_facts_extracted(base_config: dict[str, Any],
                                                 message: dict[str, Any]) -> None:
    llm = seeing_llm()
    m = Memory(base_config, llm=llm)
    out = m.add([message], user_id="maya")
    assert [(e.event, e.memory) for e in out.results] == [("ADD", "Maya owns a red road bike")]
    described = llm.calls[0]["messages"][-1]
    assert described.images == message["content"][-1:]  # the part as given
    stored = m.add([message], user_id="maya", infer=False).results[0]
    text = m.get(stored.id).memory
    assert "[image: A red road bike" in text
    assert text.startswith("This is my new bike") == (message is OPENAI)


def test_without_vision_or_without_llm_is_a_typed_error(base_config: dict[str, Any]) -> None:
    blind = ScriptedLLM(responses=["never used"])
    with pytest.raises(UnsupportedFeature, match="vision") as err:
        Memory(base_config, llm=blind).add([OPENAI], user_id="maya")
    assert "configure an `llm` whose model can see images" in str(err.value)
    assert blind.calls == []
    m = Memory(base_config)
    with pytest.raises(UnsupportedFeature, match="no llm"):
        m.add([ANTHROPIC], user_id="maya", infer=False)
    assert m.get_all(user_id="maya").results == []


def test_unknown_content_parts_are_refused(base_config: dict[str, Any]) -> None:
    m = Memory(base_config)
    with pytest.raises(InvalidInput, match=r"messages\[0\]\.content\[1\]"):
        m.add([{"role": "user", "content": [{"type": "text", "text": "hi"},
                                             {"type": "audio", "data": "..."}]}],
              user_id="maya", infer=False)
    # text parts alone are plain text
    e = m.add([{"role": "user", "content": [{"type": "text", "text": "hello there"}]}],
              user_id="maya", infer=False).results[0]
    assert m.get(e.id).memory == "hello there"
