"""memstack-chroma: the `chroma` vector store for memstack (embedded on disk, server, in memory).

Importing this package (or its `plugin` module) stays cheap: chromadb and numpy are imported only
when a store is built.
"""

__version__ = "0.1.0"
