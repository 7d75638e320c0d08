"""What the `sqlite` store declares. No store import: the plugin module reads it at start-up.

- every filter operator, AND / OR / NOT and string ranges: the scope equalities of a filter
  select rows through the scope indexes, the rest is translated to SQL over the JSON payload
  with the reference semantics (`memstack_sqlite.sql_filters`);
- `exact_search`: cosine over every row the filter selects (numpy), no approximate index;
- `persistent`, `multiprocess`: one SQLite file in WAL mode, writes in `BEGIN IMMEDIATE`
  transactions with a busy timeout;
- `keyword_search` (unless the config turns it off): the engine's BM25 over a terms table;
  with it `hybrid_query`: both rankings and the keyword hits' similarities in one read;
- `query_ids`, `insert`.
"""

from __future__ import annotations

from memstack import capabilities as caps

BASE = frozenset(caps.ALL_FILTER_CAPS | {
    caps.EXACT_SEARCH, caps.PERSISTENT, caps.MULTIPROCESS, caps.QUERY_IDS, caps.INSERT})
CAPABILITIES = BASE | {caps.KEYWORD_SEARCH, caps.HYBRID_QUERY}


def capabilities_for(keyword_search: bool) -> frozenset[str]:
    """An instance's capabilities: `keyword_search` (and `hybrid_query`) only when its config
    keeps keyword search on."""
    return CAPABILITIES if keyword_search else BASE
