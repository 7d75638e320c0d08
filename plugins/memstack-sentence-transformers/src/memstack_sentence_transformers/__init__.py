"""memstack-sentence-transformers: local embeddings and cross-encoder reranking for memstack.

Importing this package (or its `plugin` module) stays cheap: torch, sentence_transformers and
numpy are imported only when a provider is built.
"""

__version__ = "0.1.0"
