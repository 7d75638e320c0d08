"""A belief-revision test set: one person's facts change over dated sessions (issue 20).

Maya moves (Lisbon → Porto → Braga), changes jobs (nurse → teacher), dates Joao, breaks up
and marries Rui; a typo in her dog's name is corrected with a plain `update` (a correction,
not a change in the world). The LLM is the deterministic `scripted` fake with a handler that
reconciles the way a good LLM would: a fact about the same "slot" (where she lives, her job,
her partner) as a current memory is an UPDATE, a negated one a DELETE, anything else an ADD.

`run(memory)` plays the sessions and returns (passed, total, failures) over the questions:
"now" questions must see only current facts, `as_of` questions the fact valid at that date,
both through `search` and through `get_all`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memstack import Memory
from memstack.models import ChatMessage

USER = "maya"
SLOTS = {"home": "Maya lives in ", "job": "Maya works as ", "partner": "Maya is "}
QUESTIONS = {"home": "where does Maya live", "job": "what is Maya's job",
             "partner": "who is Maya's partner"}

# (date, what Maya said, the facts in it)
SESSIONS: list[tuple[str, str, list[str]]] = [
    ("2022-03-10T10:00:00Z", "Hi! I live in Lisbon and I work as a nurse. My dog is Boltt.",
     ["Maya lives in Lisbon", "Maya works as a nurse", "Maya has a dog named Boltt"]),
    ("2023-06-01T18:30:00Z", "I started dating Joao last week.", ["Maya is dating Joao"]),
    ("2024-02-15T09:00:00Z", "Big news, I moved to Porto!", ["Maya lives in Porto"]),
    ("2024-09-20T12:00:00Z", "I quit the hospital, I'm a teacher now.",
     ["Maya works as a teacher"]),
    ("2025-01-05T20:00:00Z", "Joao and I broke up.", ["Maya is no longer dating Joao"]),
    ("2025-04-01T15:00:00Z", "I married Rui today!", ["Maya is married to Rui"]),
    ("2025-08-01T08:00:00Z", "We moved to Braga together.", ["Maya lives in Braga"]),
]

# date → the fact valid then for each slot (None: nothing holds)
EXPECTED: list[tuple[str, dict[str, str | None]]] = [
    ("2021-01-01T00:00:00Z", {"home": None, "job": None, "partner": None}),
    ("2022-12-31T00:00:00Z", {"home": "Maya lives in Lisbon", "job": "Maya works as a nurse",
                              "partner": None}),
    ("2023-12-31T00:00:00Z", {"home": "Maya lives in Lisbon", "job": "Maya works as a nurse",
                              "partner": "Maya is dating Joao"}),
    ("2024-06-01T00:00:00Z", {"home": "Maya lives in Porto", "job": "Maya works as a nurse",
                              "partner": "Maya is dating Joao"}),
    ("2024-12-31T00:00:00Z", {"home": "Maya lives in Porto", "job": "Maya works as a teacher",
                              "partner": "Maya is dating Joao"}),
    ("2025-02-01T00:00:00Z", {"home": "Maya lives in Porto", "job": "Maya works as a teacher",
                              "partner": None}),
    ("2025-06-01T00:00:00Z", {"home": "Maya lives in Porto", "job": "Maya works as a teacher",
                              "partner": "Maya is married to Rui"}),
]
NOW = {"home": "Maya lives in Braga", "job": "Maya works as a teacher",
       "partner": "Maya is married to Rui"}


def slot_of(text: str) -> str | None:
    for slot, prefix in SLOTS.items():
        if text.startswith(prefix) and "dog" not in text:
            return slot
    return None


def handler(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """The scripted LLM: facts by session text, decisions by slot."""
    last = messages[-1].content
    if "facts" in json.dumps(schema):
        said = next(facts for _, text, facts in SESSIONS if text in last)
        return json.dumps({"facts": said})
    body = json.loads(last)
    existing = {e["id"]: e["text"] for e in body["existing_memories"]}
    out: list[dict[str, str]] = []
    for n, fact in enumerate(body["new_facts"]):
        slot = slot_of(fact)
        same = [i for i, t in existing.items() if slot and slot_of(t) == slot]
        if " no longer " in fact:
            out += [{"id": i, "event": "DELETE"} for i in same]
        elif fact in existing.values():
            out.append({"id": next(i for i, t in existing.items() if t == fact),
                        "event": "NONE"})
        elif same:
            out.append({"id": same[0], "text": fact, "event": "UPDATE",
                        "old_memory": existing[same[0]]})
        else:
            out.append({"id": f"new{n}", "text": fact, "event": "ADD"})
    return json.dumps({"memory": out})


def play(memory: Memory) -> None:
    """The sessions, each added with its date; then the typo corrected by a plain update."""
    for date, text, _ in SESSIONS:
        memory.add([{"role": "user", "content": text, "timestamp": date}], user_id=USER)
    dog = next(i for i in memory.get_all(user_id=USER).results if "Boltt" in i.memory)
    memory.update(dog.id, "Maya has a dog named Bolt")


def _slot_texts(texts: Sequence[str], slot: str) -> set[str]:
    return {t for t in texts if slot_of(t) == slot}


def score(memory: Memory) -> tuple[int, int, list[str]]:
    """(passed, total, failures) over the now / as-of questions and the typo check."""
    passed, total, failures = 0, 0, []

    def check(what: str, got: set[str], want: str | None) -> None:
        nonlocal passed, total
        total += 1
        if got == ({want} if want else set()):
            passed += 1
        else:
            failures.append(f"{what}: got {sorted(got)}, want {want}")

    for slot, question in QUESTIONS.items():
        hits = memory.search(question, user_id=USER, limit=20).results
        check(f"now search {slot}", _slot_texts([h.memory for h in hits], slot), NOW[slot])
        listed = memory.get_all(user_id=USER).results
        check(f"now list {slot}", _slot_texts([i.memory for i in listed], slot), NOW[slot])
        for date, want in EXPECTED:
            hits = memory.search(question, user_id=USER, limit=20, as_of=date).results
            check(f"as_of {date} search {slot}", _slot_texts([h.memory for h in hits], slot),
                  want[slot])
            listed = memory.get_all(user_id=USER, as_of=date).results
            check(f"as_of {date} list {slot}", _slot_texts([i.memory for i in listed], slot),
                  want[slot])
    every = memory.get_all(user_id=USER, include_superseded=True).results
    dogs = [i for i in every if "dog" in i.memory]
    total += 1
    if [(d.memory, d.valid_until) for d in dogs] == [("Maya has a dog named Bolt", None)]:
        passed += 1  # a correction made no past version
    else:
        failures.append(f"typo correction: {[(d.memory, d.valid_until) for d in dogs]}")
    return passed, total, failures
