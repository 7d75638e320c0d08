"""Test helpers: the quick engine config and a scripted memstack LLM for the inference path."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memstack.models import ChatMessage
from memstack_contract.fakes.scripted_llm import ScriptedLLM


def fast_config(tmp_path: Path) -> dict[str, Any]:
    """The quick engine: in-process store, hashing embedder, SQLite history in `tmp_path`."""
    return {"vector_store": {"provider": "memory"},
            "embedder": {"provider": "hashing", "config": {"dimension": 64}},
            "history_store": {"provider": "sqlite",
                              "config": {"path": str(tmp_path / "history.db")}}}


FACT_RE = re.compile(r"^user: my (.+?) is (.+?)\.?$", re.IGNORECASE | re.MULTILINE)


def _answer(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    last = messages[-1].content
    if '"new_facts"' in last:  # reconciliation: add every new fact
        body = json.loads(last)
        return json.dumps({"memory": [{"id": f"n{i}", "text": f, "event": "ADD"}
                                      for i, f in enumerate(body["new_facts"])]})
    facts = [f"User's {what} is {value}" for what, value in FACT_RE.findall(last)]
    return json.dumps({"facts": facts})


def fact_llm() -> ScriptedLLM:
    """memstack LLM: 'user: My colour is teal.' → fact "User's colour is teal"; ADDs each."""
    return ScriptedLLM(handler=_answer)


def tool_outputs(model_input: Any) -> list[str]:
    """The function-call outputs in a model call's input items, oldest first."""
    return [str(i["output"]) for i in model_input
            if isinstance(i, dict) and i.get("type") == "function_call_output"]
