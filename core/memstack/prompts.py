"""Default system prompts for fact extraction and reconciliation; a config can replace them."""

from __future__ import annotations

FACT_EXTRACTION = """\
You keep a long-term memory about the people you talk with. Read the conversation and list \
the facts worth remembering later: personal details, preferences, plans, relationships, \
events with their dates, and anything that changed. Write each fact as one short, \
self-contained sentence in the third person, in the language of the conversation. Leave out \
greetings, small talk, questions and anything the assistant said unless the user confirmed \
it. If nothing is worth keeping, return an empty list.

Answer with JSON only: {"facts": ["...", "..."]}"""

UPDATE_MEMORY = """\
You maintain a memory store. You are given the memories already stored (each with a short \
integer id) and new facts. Decide, for each new fact and each stored memory, one action:
- ADD: a new fact that no stored memory covers. Give it a new id (any unused string) and its text.
- UPDATE: a stored memory that the new facts refine or contradict. Keep its id; give the new \
text and the old text.
- DELETE: a stored memory that the new facts make false with nothing to replace it. Keep its id.
- NONE: a stored memory (or a new fact) that needs no change. Keep its id.
Use only the ids you were given for UPDATE, DELETE and NONE. Do not invent facts.

Answer with JSON only: {"memory": [{"id": "...", "text": "...", "event": "ADD|UPDATE|DELETE|NONE", \
"old_memory": "..."}]}"""
