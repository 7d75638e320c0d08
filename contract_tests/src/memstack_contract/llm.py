"""`LLMContract`: a chat round trip, multi-turn context, structured output, typed errors.

The prompts are fixed and their checks are ones any working chat model passes ("reply with the word
pong" → the reply contains "pong"). Against a real model they test the model *and* the plugin's
plumbing; against a scripted model or a local mock server they test only the plumbing (messages
out, text back, schema passed, errors wrapped) — which is exactly the plugin's job. `SCRIPT` holds
answers that satisfy every check, for fakes and mock servers.
"""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar

import pytest

from memstack import capabilities as caps
from memstack.capabilities import Kind
from memstack.errors import MemstackError
from memstack.models import ChatMessage
from memstack.protocols import LLM
from memstack_contract import guard
from memstack_contract.base import Builder, ContractBase, capabilities_of
from memstack_contract.versioning import contract

SYSTEM = ChatMessage(role="system", content="You are a terse assistant used by an automated test.")
PING = [SYSTEM, ChatMessage(role="user", content="Reply with exactly one word: pong")]
MULTI_TURN = [
    SYSTEM,
    ChatMessage(role="user", content="Remember the number 7. Reply OK."),
    ChatMessage(role="assistant", content="OK."),
    ChatMessage(
        role="user", content="Which number did I ask you to remember? Answer with the digit."
    ),
]
CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
    },
    "required": ["city", "population"],
    "additionalProperties": False,
}
STRUCTURED = [
    SYSTEM,
    ChatMessage(
        role="user",
        content="Give the capital city of France as JSON: `city` (its name) and `population` "
        "(an integer estimate).",
    ),
]
# Answers that satisfy every check, keyed by a phrase of the prompt they answer (for fakes/mocks).
SCRIPT: list[dict[str, str]] = [
    {"match": "one word: pong", "response": "pong"},
    {"match": "which number did i ask", "response": "7"},
    {"match": "capital city of france", "response": '{"city": "Paris", "population": 2100000}'},
]


@guard.suite_class
class LLMContract(ContractBase):
    """The LLM contract. Set `provider` and a `provider_config` under which the model answers.

    Optionally set `failing_provider_config`: a config under which calls fail (a closed port, a bad
    key); the suite checks that the failure is raised as a memstack error naming the provider.
    """

    kind: ClassVar[str] = str(Kind.LLM)

    @pytest.fixture
    def failing_provider_config(self) -> dict[str, Any] | None:
        return None

    @pytest.fixture
    def llm(self, make_provider: Builder) -> Any:
        return make_provider()

    @contract(since=1, group="llm")
    def test_chat_round_trip(self, llm: Any) -> None:
        assert isinstance(llm, LLM), "does not implement memstack LLM"
        messages = copy.deepcopy(PING)
        reply = llm.chat(messages)
        assert isinstance(reply, str) and reply.strip(), f"empty reply {reply!r}"
        assert "pong" in reply.lower(), f"asked for 'pong', got {reply[:200]!r}"
        assert messages == PING, "chat() changed the caller's messages"

    @contract(since=1, group="llm")
    def test_multi_turn_context(self, llm: Any) -> None:
        reply = llm.chat(copy.deepcopy(MULTI_TURN))
        assert isinstance(reply, str) and "7" in reply, f"lost the earlier turns: {reply[:200]!r}"

    @contract(since=1, group="llm")
    def test_structured_output(self, llm: Any) -> None:
        import jsonschema

        self.require(capabilities_of(llm, None), caps.STRUCTURED_OUTPUT)
        reply = llm.chat(copy.deepcopy(STRUCTURED), response_schema=CITY_SCHEMA, schema_name="city")
        assert isinstance(reply, str)
        try:
            value = json.loads(reply)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"structured reply is not JSON: {reply[:300]!r}") from exc
        jsonschema.validate(value, CITY_SCHEMA)
        assert "paris" in value["city"].lower()

    @contract(since=1, group="llm")
    def test_errors_are_typed(
        self, llm: Any, make_provider: Builder, failing_provider_config: dict[str, Any] | None
    ) -> None:
        """Invalid requests and failing backends raise MemstackError, never a library exception."""
        with pytest.raises(MemstackError):
            llm.chat([])
        if failing_provider_config is None:
            return
        try:
            broken = make_provider(failing_provider_config)
        except MemstackError:
            return  # refusing the config up front is a typed error too
        with pytest.raises(MemstackError) as info:
            broken.chat(copy.deepcopy(PING))
        assert info.value.__cause__ is not None or "provider" in vars(info.value), (
            "wrap the backend's exception (raise ProviderError(...) from exc)"
        )
