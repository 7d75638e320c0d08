"""Test helpers: the quick engine config and a scripted memstack LLM for the inference path."""

from __future__ import annotations

import json
import re
import uuid
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


def chat_store(directory: Path) -> Any:
    """A LlamaIndex chat store on its own file, each connection closed after use.

    LlamaIndex's default store keeps one in-memory aiosqlite connection open. Its sync API
    (`chat`, `put`) runs every call in a new event loop, so that connection outlives the loop it
    was opened in, and when the garbage collector reaps it, its worker thread fails (a warning in
    whichever test runs then). With NullPool no connection outlives the call that opened it.
    """
    from llama_index.core.storage.chat_store.sql import SQLAlchemyChatStore
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    path = directory / f"chat-{uuid.uuid4().hex}.db"
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
    return SQLAlchemyChatStore(table_name="llama_index_memory", async_engine=engine)


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
