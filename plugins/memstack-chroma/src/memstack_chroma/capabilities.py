"""What the `chroma` store declares, per mode. No chromadb import: the plugin module reads it."""

from __future__ import annotations

from memstack import capabilities as caps

# Every operator, AND / OR / NOT. Ranges on strings (which Chroma cannot compare) are checked in
# Python over the candidates Chroma returns for the rest of the filter (see `store`).
# Not `exact_search` (HNSW is approximate) and not `keyword_search`.
FILTERS = caps.ALL_FILTER_CAPS


def capabilities_for(mode: str | None) -> frozenset[str]:
    """disk and server keep data across reopen; only a server is safe for several processes
    (an embedded Chroma keeps its index in the process: another process's writes stay invisible
    to its queries)."""
    out = set(FILTERS) | {caps.QUERY_IDS, caps.INSERT}
    if mode in (None, "disk", "server"):
        out.add(caps.PERSISTENT)
    if mode == "server":
        out.add(caps.MULTIPROCESS)
    return frozenset(out)


# What the provider can do in some mode (the ProviderSpec's list); an instance declares its own.
ANY_MODE = capabilities_for("disk") | capabilities_for("server") | capabilities_for("memory")
