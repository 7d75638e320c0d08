"""The streamable-HTTP MCP endpoint as one ASGI app, for `memstack mcp --http` and for mounting
inside memstack-server (at ``/mcp``) — one code path for both.

The app answers on whatever path it is given (it does no routing), so it works at the root of
uvicorn and under a prefix. It authenticates every HTTP request with the host's
``authenticate(bearer_token_or_None)``; the scope it returns is stored on the request and is the
only scope the tools use for that request (see `server.py`). ``None`` means 401.

Lifespan: the SDK's session manager needs a running task group. As a top-level app (uvicorn)
the app answers ASGI ``lifespan`` events itself. Mounted inside another app, the host runs it:
``async with mcp_app.lifespan(): ...`` inside its own lifespan (Starlette does not forward
lifespan events to mounted apps). A request that arrives before that gets a clear 503.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread

import memstack
from memstack.errors import MemstackError
from memstack_mcp.scope import ASGI_SCOPE_KEY, checked_scope
from memstack_mcp.server import build_server

log = logging.getLogger("memstack_mcp")

ScopeLike = Mapping[str, str] | None
Authenticate = Callable[[str | None], Awaitable[ScopeLike] | ScopeLike]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]")


class MCPASGIApp:
    """ASGI app serving MCP streamable HTTP; see the module docstring for mounting."""

    def __init__(self, memory: memstack.Memory, authenticate: Authenticate, *,
                 allowed_hosts: Sequence[str] | None = None,
                 log_level: str = "WARNING") -> None:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
        from mcp.server.transport_security import TransportSecuritySettings

        self.memory = memory
        self.authenticate = authenticate
        self.server = build_server(memory, None, log_level=log_level)
        hosts = list(allowed_hosts) if allowed_hosts is not None else list(LOOPBACK_HOSTS)
        origins = [f"{proto}://{h}" for h in hosts for proto in ("http", "https")]
        security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                             allowed_hosts=hosts, allowed_origins=origins)
        # Builds the session manager (the Starlette app it returns is not used: it routes one
        # fixed path, while this app serves any path it is mounted at).
        self.server.streamable_http_app(streamable_http_path="/", transport_security=security)
        self.session_manager = self.server.session_manager
        self._endpoint = StreamableHTTPASGIApp(self.session_manager)
        self._running = False

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the MCP session manager; hosts that mount this app enter it in their lifespan.
        It can be entered once per app (the SDK's rule); build a new app to serve again."""
        async with self.session_manager.run():
            self._running = True
            try:
                yield
            finally:
                self._running = False

    def lifespan_context(self, _app: Any = None) -> AbstractAsyncContextManager[None]:
        """`lifespan` with Starlette's ``lifespan=`` signature (takes the app, ignores it)."""
        return self.lifespan()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if not self._running:
            await _json(send, 503, {"error": "memstack-mcp is not running: the host app must "
                                    "run `async with mcp_app.lifespan():` in its lifespan"})
            return
        token = _bearer(scope)
        try:
            given = self.authenticate(token)
            if inspect.isawaitable(given):
                given = await given
        except Exception as exc:
            # type only: the host's message could quote the token it was checking
            log.error("authenticate() raised %s; the request got 500", type(exc).__name__)
            await _json(send, 500, {"error": "authentication failed on the server"})
            return
        if given is None:
            await _json(send, 401, {"error": "missing or invalid API key: send "
                                    "'Authorization: Bearer <key>'"},
                        [(b"www-authenticate", b'Bearer realm="memstack"')])
            return
        try:
            caller = checked_scope(given, source="authenticate()")
        except MemstackError as exc:
            log.error("authenticate() returned an unusable scope: %s", exc)
            await _json(send, 500, {"error": "the server's API key has no usable scope"})
            return
        scope = dict(scope)
        scope[ASGI_SCOPE_KEY] = caller
        scope["user"] = _principal(caller)
        await self._endpoint(scope, receive, send)

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            async with self.lifespan():
                await send({"type": "lifespan.startup.complete"})
                while (await receive())["type"] != "lifespan.shutdown":
                    pass
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def create_mcp_asgi_app(memory: memstack.Memory, authenticate: Authenticate, *,
                        allowed_hosts: Sequence[str] | None = None,
                        log_level: str = "WARNING") -> MCPASGIApp:
    """The MCP streamable-HTTP endpoint over `memory`, authenticated per request.

    `authenticate(token)` gets the bearer token (None when the request has none) and returns
    the caller's scope, e.g. ``{"user_id": "alice"}`` (optionally agent_id / run_id), or None to
    answer 401. It may be sync (run in a worker thread) or async. `allowed_hosts` is the
    DNS-rebinding allow-list of ``Host`` headers (``"host:port"`` or ``"host:*"``); the default
    admits loopback names only."""
    sync = not inspect.iscoroutinefunction(authenticate)
    if sync:
        plain = authenticate

        async def in_thread(token: str | None) -> Mapping[str, str] | None:
            return await anyio.to_thread.run_sync(plain, token)  # type: ignore[arg-type]

        authenticate = in_thread
    return MCPASGIApp(memory, authenticate, allowed_hosts=allowed_hosts, log_level=log_level)


def _principal(caller: Mapping[str, str]) -> Any:
    """The caller as the SDK's authenticated user, so its session manager binds each MCP
    session to the scope that opened it: another key's requests on that session id get 404
    (each request already acts in its own key's scope; this is defence in depth). The token
    itself is not kept."""
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken

    principal = json.dumps(dict(caller), sort_keys=True)
    return AuthenticatedUser(AccessToken(token="", client_id=principal, scopes=[]))


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            text = value.decode("latin-1").strip()
            kind, _, token = text.partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


async def _json(send: Send, status: int, body: dict[str, Any],
                headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})
