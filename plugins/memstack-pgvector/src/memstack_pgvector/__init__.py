"""memstack-pgvector: a `pgvector` vector store and a `postgres` history store for memstack.

Importing this package (or `.plugin`) stays cheap: psycopg is imported only when a provider
is built.
"""

__version__ = "0.1.0"
