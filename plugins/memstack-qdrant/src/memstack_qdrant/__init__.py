"""memstack-qdrant: the `qdrant` vector store (server, cluster, Qdrant Cloud or local mode).

Importing this package is cheap on purpose: `qdrant_client` (and numpy with it) is imported only
when a store is built, so `memstack plugins` stays fast even with many plugins installed.
"""

__version__ = "0.1.0"
