"""memstack-milvus: a memstack vector store on Milvus (server, Zilliz Cloud or Milvus Lite).

Importing this package (or its `plugin` module) stays cheap: pymilvus, milvus_lite and numpy are
imported only when a store is built.
"""

__version__ = "0.1.0"
