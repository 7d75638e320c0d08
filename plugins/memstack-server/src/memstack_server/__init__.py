"""memstack as a service: the REST API, API keys, metrics and `memstack serve`.

Importing this package is cheap (the plugin module that memstack loads imports no web
framework); FastAPI and uvicorn load only when a server is built.
"""

__version__ = "0.1.0"
