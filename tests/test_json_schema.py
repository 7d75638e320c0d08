"""`memstack.json_schema`: the structured-output helpers every LLM plugin shares."""

from __future__ import annotations

import json

from memstack.json_schema import (
    WRAP_KEY,
    example_for,
    is_object_schema,
    schema_instruction,
    schema_name,
    strip_fences,
    unwrap,
    wrap_object,
)


def test_schema_name_is_what_the_apis_accept() -> None:
    assert schema_name("fact extraction!") == "fact_extraction"
    assert schema_name("???") == "response"
    assert len(schema_name("x" * 200)) == 64


def test_a_non_object_schema_is_wrapped_for_tools_and_unwrapped_back() -> None:
    schema = {"type": "array", "items": {"$ref": "#/$defs/Fact"},
              "$defs": {"Fact": {"type": "string"}}}
    assert not is_object_schema(schema)
    wrapped = wrap_object(schema)
    assert is_object_schema(wrapped) and wrapped["required"] == [WRAP_KEY]
    assert wrapped["additionalProperties"] is False
    assert wrapped["$defs"] == schema["$defs"] and "$defs" not in wrapped["properties"][WRAP_KEY]
    assert json.loads(unwrap(json.dumps({WRAP_KEY: ["a", "é"]}))) == ["a", "é"]
    assert unwrap({WRAP_KEY: "é"}) == '"é"'  # unicode kept, not \\u-escaped


def test_the_prompt_fallback_carries_the_schema() -> None:
    text = schema_instruction({"type": "object", "title": "Städte"})
    assert text.startswith("Answer with one JSON object only")
    assert json.loads(text.split("\n", 1)[1]) == {"type": "object", "title": "Städte"}


def test_code_fences_are_removed_and_plain_text_is_kept() -> None:
    assert strip_fences('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_fences('  ```JSON{"a": 1}```  ') == '{"a": 1}'
    assert strip_fences('  {"a": "```"}  ') == '{"a": "```"}'


def test_example_for_gives_a_minimal_valid_instance() -> None:
    schema = {
        "type": "object",
        "properties": {
            "facts": {"type": "array", "items": {"$ref": "#/$defs/Fact"}, "minItems": 1},
            "mood": {"enum": ["calm", "busy"]},
            "ok": {"type": "boolean"},
            "n": {"type": "integer", "default": 3},
        },
        "required": ["facts", "mood", "ok", "n"],
        "$defs": {"Fact": {"type": "object", "properties": {
            "text": {"type": "string", "minLength": 10}}}},
    }
    assert example_for(schema) == {"facts": [{"text": "examplexxx"}], "mood": "calm",
                                   "ok": False, "n": 3}
    assert example_for({"oneOf": [{"const": "x"}]}) == "x"
    assert example_for({"type": ["null", "number"]}) == 0.0
