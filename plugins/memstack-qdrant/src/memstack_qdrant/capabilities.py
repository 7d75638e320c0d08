"""What the `qdrant` store declares, per mode. Pure data: no qdrant_client import."""

from __future__ import annotations

from memstack import capabilities as caps
from memstack_qdrant.config import QdrantStoreConfig

# Every filter operator and logical node except string ranges: Qdrant's `Range` is numeric and
# `DatetimeRange` parses dates, so neither orders arbitrary strings by code point.
FILTER_CAPABILITIES = (caps.ALL_FILTER_CAPS - {caps.FILTER_RANGE_STR})

# What every mode has.
BASE_CAPABILITIES = frozenset(FILTER_CAPABILITIES | {caps.QUERY_IDS})
# What the provider can do in some mode: the ProviderSpec lists this; an instance declares what
# its own config does (`for_config`).
ALL_CAPABILITIES = BASE_CAPABILITIES | {caps.EXACT_SEARCH, caps.PERSISTENT, caps.MULTIPROCESS,
                                        caps.KEYWORD_SEARCH, caps.HYBRID_QUERY}


def for_config(config: QdrantStoreConfig) -> frozenset[str]:
    """Capabilities of a store built from `config`.

    - local mode is brute force (exact); a server is exact only with `exact: true` (HNSW otherwise);
    - `path` and server keep data across close/reopen; `:memory:` does not;
    - only a server takes writers from several processes (local mode locks its folder);
    - keyword search in the store (`keyword_search`; unset: with a server only): the engine's
      BM25 inside the store, and both sides of a hybrid search from one call.
    """
    out = set(BASE_CAPABILITIES)
    if config.mode != "server" or config.exact:
        out.add(caps.EXACT_SEARCH)
    if config.mode in ("server", "path"):
        out.add(caps.PERSISTENT)
    if config.mode == "server":
        out.add(caps.MULTIPROCESS)
    if config.keyword_side:
        out |= {caps.KEYWORD_SEARCH, caps.HYBRID_QUERY}
    return frozenset(out)
