"""A host app that mounts memstack-mcp the way memstack-server does (README: "Mount it in your
own ASGI app"): the MCP app at /mcp under a Starlette router, its lifespan run by the host, API
keys mapped to scopes. Run: python mcp_host_app.py CONFIG (binds a free
loopback port and prints its URL on stderr)."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from memstack_mcp.asgi import create_mcp_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import memstack

KEYS = {
    "key-alice": {"user_id": "alice"},
    "key-bob": {"user_id": "bob"},
    "key-alice-coder": {"user_id": "alice", "agent_id": "coder"},
}


def main() -> None:
    config = sys.argv[1]
    memory = memstack.Memory(config)
    mcp_app = create_mcp_asgi_app(memory, lambda token: KEYS.get(token or ""))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with mcp_app.lifespan():
            yield

    async def health(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[
        Route("/health", health),
        Route("/mcp", endpoint=mcp_app),   # exactly /mcp, no redirect to /mcp/
        Mount("/mcp", app=mcp_app),        # /mcp/ and below
    ], lifespan=lifespan)
    sock = socket.create_server(("127.0.0.1", 0))
    print(f"host app serving at http://127.0.0.1:{sock.getsockname()[1]}/mcp", file=sys.stderr,
          flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    main()
