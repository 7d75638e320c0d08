"""What the `milvus` store declares, per configuration. No pymilvus import: the plugin reads it."""

from __future__ import annotations

from memstack import capabilities as caps

# Index types that scan every vector: their results are exact.
EXACT_INDEX_TYPES = frozenset({"FLAT", "BRUTE_FORCE"})
# What every configuration offers; an instance adds `exact_search` when its collection's index is
# FLAT (the default on Milvus Lite), `multiprocess` when it talks to a server, and
# `keyword_search` + `hybrid_query` when its config keeps keyword search on and its collection
# has the keyword fields (collections made before them do not: see the README).
BASE_CAPABILITIES = frozenset(caps.ALL_FILTER_CAPS | {caps.PERSISTENT, caps.QUERY_IDS})
KEYWORD_CAPABILITIES = frozenset({caps.KEYWORD_SEARCH, caps.HYBRID_QUERY})
# Everything the provider can do with some configuration: what its ProviderSpec declares.
CAPABILITIES = BASE_CAPABILITIES | KEYWORD_CAPABILITIES | {caps.EXACT_SEARCH, caps.MULTIPROCESS}


def for_collection(index_type: str, *, lite: bool, keyword: bool = False) -> frozenset[str]:
    """Capabilities of a store whose collection has `index_type`, on Lite or a server, with
    keyword search (`keyword`) or without."""
    extra = set()
    if index_type in EXACT_INDEX_TYPES:
        extra.add(caps.EXACT_SEARCH)
    if not lite:
        extra.add(caps.MULTIPROCESS)
    if keyword:
        extra |= KEYWORD_CAPABILITIES
    return frozenset(BASE_CAPABILITIES | extra)
