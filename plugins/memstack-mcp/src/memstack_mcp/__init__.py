"""memstack-mcp: memstack as a Model Context Protocol server (`memstack mcp`).

Importing this package stays cheap: the `mcp` SDK, Starlette and uvicorn are imported only when
a server is built (the `memstack mcp` handler, `build_server`, `create_mcp_asgi_app`).
"""

__version__ = "0.1.0"
