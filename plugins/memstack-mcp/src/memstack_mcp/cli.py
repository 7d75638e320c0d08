"""`memstack mcp`: serve one user's memories to an MCP client over stdio or streamable HTTP.

The scope comes from flags or the environment, never from the model: the tools can only narrow
it. Over HTTP the server listens on loopback only; a public endpoint belongs behind
memstack-server, which authenticates every request with an API key.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import socket
import sys
from typing import Any

from memstack.errors import ConfigError

ENV = {"user_id": "MEMSTACK_USER_ID", "agent_id": "MEMSTACK_AGENT_ID", "run_id": "MEMSTACK_RUN_ID"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "mcp", help="serve memories to MCP clients (Claude, Cursor, ...) over stdio or HTTP",
        description="Serve one user's memories as MCP tools. stdio by default; --http for "
                    "streamable HTTP on a loopback port.")
    p.add_argument("--config", help="memstack config file (YAML / TOML / JSON); default "
                   "$MEMSTACK_CONFIG, else the embedded default (Chroma + local MiniLM)")
    p.add_argument("--user-id", help=f"the user whose memories this server holds "
                   f"(required; or ${ENV['user_id']})")
    p.add_argument("--agent-id", help=f"fix the agent scope too (or ${ENV['agent_id']})")
    p.add_argument("--run-id", help=f"fix the run scope too (or ${ENV['run_id']})")
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP host; loopback only "
                   "(default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765; 0 picks "
                   "a free one)")
    p.add_argument("--log-level", default="WARNING",
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="stderr log level")
    p.set_defaults(func=cmd_mcp)


def session_scope(args: argparse.Namespace) -> dict[str, str]:
    from memstack_mcp.scope import checked_scope

    given = {k: getattr(args, k) or os.environ.get(env) or None for k, env in ENV.items()}
    return checked_scope({k: v for k, v in given.items() if v is not None},
                         source="memstack mcp", require_user=True)


def check_loopback(host: str) -> None:
    """Refuse a non-loopback bind: this server has no authentication of its own."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return
    except ValueError:
        pass
    raise ConfigError(
        f"--host {host!r} is not a loopback address; `memstack mcp --http` has no "
        "authentication, so it only listens on 127.0.0.1 / ::1 / localhost. To serve MCP to "
        "other machines, run memstack-server (API keys; MCP at /mcp).",
        field="host", given=host, allowed="127.0.0.1, ::1, localhost")


def open_memory(config: str | None) -> Any:
    """The engine, built before serving so a bad config fails at start with its message.
    Anything a backend prints goes to stderr: on stdio, stdout belongs to the protocol."""
    from memstack.memory import Memory

    with contextlib.redirect_stdout(sys.stderr):
        return Memory(config)


def cmd_mcp(args: argparse.Namespace) -> int:
    import logging

    scope = session_scope(args)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.http:
        check_loopback(args.host)
        if not 0 <= args.port <= 65535:
            raise ConfigError(f"--port must be 0-65535, got {args.port}", field="port",
                              given=args.port, allowed="0-65535")
    memory = open_memory(args.config)
    try:
        if args.http:
            serve_http(memory, scope, args.host, args.port, args.log_level)
        else:
            serve_stdio(memory, scope, args.log_level)
    finally:
        memory.close()
    return 0


def serve_stdio(memory: Any, scope: dict[str, str], log_level: str) -> None:
    import anyio

    from memstack_mcp.server import build_server

    server = build_server(memory, scope, log_level=log_level)
    anyio.run(server.run_stdio_async)


def serve_http(memory: Any, scope: dict[str, str], host: str, port: int, log_level: str) -> None:
    """The same ASGI app memstack-server mounts, with an authenticate() that returns the scope
    fixed on the command line (loopback-only, so no key)."""
    import uvicorn

    from memstack_mcp.asgi import create_mcp_asgi_app

    fixed = dict(scope)

    def authenticate(_token: str | None) -> dict[str, str]:
        return fixed

    app = create_mcp_asgi_app(memory, authenticate, log_level=log_level)
    # Bind first, so `--port 0` can say which port it got before serving.
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.create_server((bare, port), family=family)
    shown = f"[{bare}]" if ":" in bare else bare
    print(f"memstack mcp: serving user_id={fixed['user_id']!r} at "
          f"http://{shown}:{sock.getsockname()[1]}/mcp (streamable HTTP)",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level=log_level.lower(), lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
