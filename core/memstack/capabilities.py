"""Capabilities are declared data: strings a provider states it has.

The engine and the contract suite read them; a call that needs a missing one raises
`UnsupportedFeature`, and the contract suite skips the matching test with a standard reason.
"""

from __future__ import annotations

from enum import StrEnum

from memstack.filters.tree import OPERATORS


class Kind(StrEnum):
    """The kinds of provider a plugin can offer, one registration hook each."""

    VECTOR_STORE = "vector_store"
    EMBEDDER = "embedder"
    LLM = "llm"
    RERANKER = "reranker"
    HISTORY_STORE = "history_store"


# Filter operators: a store declares each one it translates natively.
FILTER_OPS = OPERATORS
FILTER_OP_CAPS = frozenset(f"filter:{op}" for op in FILTER_OPS)
FILTER_AND = "filter:and"
FILTER_OR = "filter:or"
FILTER_NOT = "filter:not"
# Range operators (gt/gte/lt/lte) on string values (ISO dates, names), codepoint order.
FILTER_RANGE_STR = "filter:range_str"
ALL_FILTER_CAPS = FILTER_OP_CAPS | {FILTER_AND, FILTER_OR, FILTER_NOT, FILTER_RANGE_STR}

# Vector store behaviour.
PERSISTENT = "persistent"  # data survives close() and reopening with the same config
MULTIPROCESS = "multiprocess"  # several processes may write one store at once
EXACT_SEARCH = "exact_search"  # query results are exact (brute force), not approximate
KEYWORD_SEARCH = "keyword_search"  # store has its own full-text search (keyword_query)
# `query_ids`: the ids and scores `query` would return, without reading payloads.
QUERY_IDS = "query_ids"
# `hybrid_query`: the `query` hits and the `keyword_query` hits (with the cosine similarity of
# each keyword hit) from one call, so hybrid search costs one trip to a store that has both.
HYBRID_QUERY = "hybrid_query"
# `insert`: write records the caller has checked are not stored, skipping what replacing needs.
INSERT = "insert"
# A write may take a moment to show in reads; the contract suite then waits (bounded) for it.
EVENTUALLY_CONSISTENT = "eventually_consistent"
# `bulk_load()`: a context for writing many records at once (the store may defer its index
# upkeep to the end of the block); `memstack import` uses it for large imports.
BULK_LOAD = "bulk_load"

# Embedder / LLM behaviour.
QUERY_DOCUMENT_KINDS = "query_document_kinds"  # embedder treats kind="query" differently
STRUCTURED_OUTPUT = "structured_output"  # LLM honours a JSON schema natively
VISION = "vision"  # LLM reads the image parts of `ChatMessage.images` (memstack.vision)
# Store keeps approximate vectors by design (e.g. reduced precision): looser score tolerance.
QUANTIZED = "quantized"

STANDARD_REASONS: dict[str, str] = {
    PERSISTENT: "store does not declare 'persistent' (data is not kept across reopen)",
    MULTIPROCESS: "store does not declare 'multiprocess'",
    EXACT_SEARCH: "store is approximate (no 'exact_search'); recall is checked instead",
    KEYWORD_SEARCH: "store has no native keyword search ('keyword_search')",
    QUERY_IDS: "store has no payload-free query ('query_ids'); hybrid search uses `query`",
    HYBRID_QUERY: "store has no one-call hybrid search ('hybrid_query'); the engine combines "
                  "`query` and `keyword_query`",
    INSERT: "store has no separate write for new ids ('insert'); the engine uses `upsert`",
    BULK_LOAD: "store has no bulk load context ('bulk_load'); large imports use plain writes",
    QUERY_DOCUMENT_KINDS: "embedder does not distinguish query and document kinds",
    STRUCTURED_OUTPUT: "LLM does not declare native structured output",
    VISION: "LLM does not read images ('vision')",
    QUANTIZED: "store keeps exact vectors (no 'quantized'); scores are held to 1e-4",
    FILTER_RANGE_STR: "store cannot compare strings with gt/gte/lt/lte ('filter:range_str')",
    FILTER_AND: "store cannot translate AND ('filter:and')",
    FILTER_OR: "store cannot translate OR ('filter:or')",
    EVENTUALLY_CONSISTENT: "store is read-your-writes consistent (no 'eventually_consistent')",
    FILTER_NOT: "store cannot translate NOT ('filter:not')",
}
for _op in FILTER_OPS:
    STANDARD_REASONS[f"filter:{_op}"] = (
        f"store cannot translate the '{_op}' operator ('filter:{_op}')")


def reason_missing(capability: str) -> str:
    """The standard sentence the contract suite prints when it skips for `capability`."""
    return "capability not declared: " + STANDARD_REASONS.get(capability, capability)
