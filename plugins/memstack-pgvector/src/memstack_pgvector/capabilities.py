"""What the pgvector plugin's providers declare. No psycopg import: the plugin module reads it."""

from __future__ import annotations

from memstack import capabilities as caps

# Everything the vector store can do with some config (a test keeps these in step with the
# store). An instance declares `exact_search` only when its config scans exactly (`exact: true`,
# or vectors too wide for HNSW); with the default HNSW index it is approximate.
VECTOR_STORE_CAPABILITIES = frozenset(
    caps.ALL_FILTER_CAPS | {caps.PERSISTENT, caps.MULTIPROCESS, caps.EXACT_SEARCH,
                           caps.QUERY_IDS, caps.KEYWORD_SEARCH, caps.HYBRID_QUERY,
                           caps.BULK_LOAD})
# The history store: one table on a server, written by many processes.
HISTORY_CAPABILITIES = frozenset({caps.PERSISTENT, caps.MULTIPROCESS})
