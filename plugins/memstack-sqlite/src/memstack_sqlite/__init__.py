"""memstack-sqlite: the `sqlite` vector store for memstack — one SQLite file, search by scope.

Importing this package (or its `plugin` module) stays cheap: numpy and the store are imported only
when a store is built.
"""

__version__ = "0.1.0"
