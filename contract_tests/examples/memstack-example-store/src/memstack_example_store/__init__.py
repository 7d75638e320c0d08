"""memstack-example-store: a worked example of a memstack vector store plugin."""

__version__ = "0.1.0"
