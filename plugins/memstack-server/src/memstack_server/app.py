"""`create_app(settings, memory)`: the FastAPI application of one memstack-server instance.

Stable for other packages (the dashboard codes against it): ``app.state.memory`` (the
`Memory`), ``app.state.keys`` (a `KeyStore`: ``verify(raw_key) -> ApiKey | None``),
``app.state.settings`` (the `ServerSettings`).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from memstack.errors import MemstackError
from memstack_server import __version__
from memstack_server.auth import ApiProblem, RateLimiter
from memstack_server.keys import KeyStore
from memstack_server.metrics import METRICS
from memstack_server.middleware import RequestContext
from memstack_server.problems import (
    PROBLEM_TYPE,
    RETRY_AFTER_SECONDS,
    classify,
    field_of,
    problem,
    responses,
)
from memstack_server.schemas import Health, Ready
from memstack_server.settings import ServerSettings, is_loopback

if TYPE_CHECKING:
    from memstack import Memory

log = logging.getLogger("memstack_server")


def _rid(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _respond(request: Request, status: int, slug: str, detail: str, *,
             errors: list[dict[str, str]] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem(status, slug, detail, instance=request.url.path,
                                request_id=_rid(request), errors=errors),
                        status_code=status, media_type=PROBLEM_TYPE, headers=headers)


async def _memstack_error(request: Request, exc: Exception) -> JSONResponse:
    status, slug = classify(exc)
    METRICS.error(type(exc).__name__)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc)
    field = field_of(exc)
    detail = str(exc) if status < 500 or status in (502, 503) else \
        f"{type(exc).__name__}; see the server log for request {_rid(request)}"
    errors = [{"field": field, "message": str(exc)}] if field and status < 500 else None
    return _respond(request, status, slug, detail, errors=errors, headers=headers)


async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    METRICS.error(exc.slug)
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    return _respond(request, exc.status, exc.slug, exc.detail, errors=errors,
                    headers=exc.headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    # pydantic names the union member it tried ("str", "Message", "list[...]"): not a field
    parts = [p for p in parts if not (p[:1].isupper() or p in ("str", "int", "float", "bool")
                                      or p.startswith(("list[", "function-", "json-or-")))]
    return ".".join(parts) or "body"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    METRICS.error("RequestValidationError")
    errors: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors():
        field = _loc(err.get("loc", ()))
        msg = "unknown field" if err.get("type") == "extra_forbidden" else str(err.get("msg"))
        if err.get("type") == "json_invalid":
            field = "body"
            msg = f"malformed JSON: {err.get('ctx', {}).get('error', msg)}"
        if (field, msg) not in seen:
            seen.add((field, msg))
            errors.append({"field": field, "message": msg})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return _respond(request, 422, "invalid-input", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    METRICS.error(f"http_{exc.status_code}")
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return _respond(request, exc.status_code, slug, str(exc.detail),
                    headers=dict(exc.headers or {}))


def create_app(settings: ServerSettings, memory: Memory | None = None) -> FastAPI:
    """The app over `memory` (built from ``settings.memory_config`` when None, and then
    closed when the app shuts down)."""
    settings.check_safe()
    own = memory is None
    if memory is None:
        from memstack import Memory

        memory = Memory(settings.memory_config or None)
    keys = KeyStore(memory.config, cache_seconds=settings.auth.cache_seconds)
    sub_lifespans: list[Any] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for factory in sub_lifespans:
                await stack.enter_async_context(factory(app))
            try:
                yield
            finally:
                keys.close()
                if own:
                    memory.close()

    app = FastAPI(
        title="memstack", version=__version__, lifespan=lifespan,
        description="Long-term memory for AI agents, as a service. Every /v1 call needs an "
        "API key (`memstack keys create`) sent as `Authorization: Bearer <key>`. Errors are "
        "RFC 9457 problem documents.",
    )
    app.state.settings = settings
    app.state.memory = memory
    app.state.keys = keys
    app.state.rate_limiter = RateLimiter(settings.limits.rate_per_second, settings.limits.burst)
    app.state.sub_lifespans = sub_lifespans
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(MemstackError, _memstack_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    from memstack_server.api import router

    app.include_router(router)
    _health_routes(app)
    app.add_middleware(RequestContext, max_body=settings.limits.max_body_bytes,
                       max_import_body=settings.limits.max_import_bytes)
    if importlib.util.find_spec("memstack_server.dashboard") is not None:
        from memstack_server.dashboard import mount

        mount(app)
    _mount_mcp(app, memory, keys, settings)
    return app


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", response_model=Health, tags=["ops"], summary="The process is alive")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Ready, tags=["ops"], responses=responses(503),
             summary="The vector store and the history store answer")
    def readyz(request: Request) -> Any:
        memory = request.app.state.memory
        checks: dict[str, str] = {}
        for name, probe in (("vector_store", lambda: memory.store.get(["readyz-probe"])),
                            ("history_store", lambda: memory.history_store.history(
                                "readyz-probe"))):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # any failure means not ready; say which part
                checks[name] = f"unavailable: {type(exc).__name__}"
        if all(v == "ok" for v in checks.values()):
            return {"status": "ready", "checks": checks}
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"],
             summary="Prometheus text: requests, latency, memory operations, errors")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(METRICS.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")


def _mount_mcp(app: FastAPI, memory: Any, keys: KeyStore, settings: ServerSettings) -> None:
    """memstack-mcp, when installed, at /mcp: the bearer key's scope is the session's scope.

    MCP tools act in one scope and may write, so only scoped read-write keys open a session;
    admin and read-only keys get 401 there (their rights cannot be expressed to MCP)."""
    if importlib.util.find_spec("memstack_mcp") is None:
        return
    try:
        from memstack_mcp.asgi import create_mcp_asgi_app
    except ImportError:  # an older memstack-mcp without the ASGI entry point
        log.info("memstack-mcp has no memstack_mcp.asgi; /mcp is not mounted")
        return
    if not settings.auth.enabled:
        log.info("/mcp is not mounted: it needs API keys (server.auth.enabled)")
        return

    def authenticate(token: str | None) -> dict[str, str] | None:
        key = keys.verify(token) if token else None
        if key is None or key.admin or key.read_only or not key.scope:
            return None
        return dict(key.scope)

    hosts = None
    if not is_loopback(settings.host):
        from memstack_mcp.asgi import LOOPBACK_HOSTS

        hosts = [*LOOPBACK_HOSTS, f"{settings.host}:*", settings.host]
    mcp_app = create_mcp_asgi_app(memory, authenticate, allowed_hosts=hosts)
    app.state.sub_lifespans.append(lambda _app: mcp_app.lifespan())
    app.mount("/mcp", mcp_app)
