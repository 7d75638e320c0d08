"""The `memstack` command line."""
