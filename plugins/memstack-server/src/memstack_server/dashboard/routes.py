"""The dashboard's pages and forms, under ``/ui`` (``/`` redirects there).

Reads are GET pages; every change (sign in, sign out, edit, delete) is a POST form carrying the
session's CSRF token, checked before anything else happens. Engine calls run in the thread
pool, like the API's, because `Memory` is synchronous.
"""

from __future__ import annotations

import math
import secrets
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from memstack.errors import InvalidInput, MemoryNotFound
from memstack.inputs import check_scope
from memstack_server.dashboard import scopes as scope_counts
from memstack_server.dashboard import stack
from memstack_server.dashboard.access import SCOPE_FIELDS, Viewer
from memstack_server.dashboard.render import error_page, render, scope_query, secure
from memstack_server.dashboard.session import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    LOGIN_MAX_AGE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    Session,
    SessionCodec,
    load_secret,
)

PAGE_SIZE = 25
SEARCH_LIMIT = 20
MAX_KEY_CHARS = 512
MAX_PAGE = 10_000


class CsrfRefused(Exception):
    """A state-changing form came without this session's token, or from another site."""


class _LocalAdmin:
    """The viewer when the server runs with auth disabled (allowed on loopback only)."""

    id = "anonymous"
    name = "local (auth disabled)"
    scope: dict[str, str] = {}  # noqa: RUF012 - read-only class attribute
    admin = True
    read_only = False


class DashboardState:
    """What `mount` keeps on ``app.state.dashboard``: the cookie codec, made on first use."""

    def __init__(self) -> None:
        self._codec: SessionCodec | None = None
        self._lock = threading.Lock()

    @property
    def codec(self) -> SessionCodec:
        if self._codec is None:
            with self._lock:
                if self._codec is None:
                    self._codec = SessionCodec(load_secret())
        return self._codec


class DashboardRoute(APIRoute):
    """Errors in a dashboard route become a friendly page (the API's handlers answer JSON)."""

    def get_route_handler(self):  # type: ignore[no-untyped-def]
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                return error_page(request, exc)
            return secure(response)

        return route


router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


# --- who is signed in -------------------------------------------------------------------------
def _codec(request: Request) -> SessionCodec:
    return request.app.state.dashboard.codec


def _auth_enabled(request: Request) -> bool:
    settings = getattr(request.app.state, "settings", None)
    auth = getattr(settings, "auth", None)
    return bool(getattr(auth, "enabled", True))


def _login_nonce(request: Request) -> str | None:
    value = request.cookies.get(LOGIN_COOKIE, "")
    return value if len(value) == 32 and all(c in "0123456789abcdef" for c in value) else None


async def _viewer(request: Request) -> Viewer | None:
    """The signed-in key, re-verified against the key registry on every request."""
    codec = _codec(request)
    if not _auth_enabled(request):
        nonce = _login_nonce(request)
        if nonce is None:
            return None  # the page sets the nonce cookie and reloads (see _require)
        viewer = Viewer(_LocalAdmin(), Session("", nonce, 0))
    else:
        session = codec.open(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        key = await run_in_threadpool(request.app.state.keys.verify, session.raw_key)
        if key is None:
            return None
        viewer = Viewer(key, session)
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None and (wait := limiter.take(str(getattr(viewer.key, "id", "")))) > 0:
        raise StarletteHTTPException(429, f"too many requests from this key; retry in "
                                          f"{math.ceil(wait)} s")
    request.state.dashboard_viewer = viewer
    request.state.dashboard_csrf = codec.token(viewer.session.nonce)
    return viewer


def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard (no open redirect to another site)."""
    if not target or not target.startswith("/ui/") or target.startswith("/ui//") or \
            any(c in target for c in "\\\r\n\t"):
        return "/ui/"
    return target


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _to_login(request: Request) -> Response:
    return RedirectResponse(f"/ui/login{scope_query({}, next=_here(request))}", status_code=303)


def _set_login_cookie(response: Response, request: Request, nonce: str) -> None:
    """The pre-session nonce that the sign-in form's CSRF token is made from."""
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_MAX_AGE, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")


async def _require(request: Request) -> Viewer | Response:
    """The viewer, or the response that sends the browser to sign in."""
    viewer = await _viewer(request)
    if viewer is not None:
        return viewer
    if not _auth_enabled(request):  # no key needed: set the CSRF nonce cookie and come back
        back = RedirectResponse(_safe_next(_here(request)), status_code=303)
        _set_login_cookie(back, request, secrets.token_hex(16))
        return back
    return _to_login(request)


async def _form(request: Request, nonce: str | None) -> dict[str, str]:
    """The posted form, after the CSRF checks (token for `nonce`, and same-origin headers)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise CsrfRefused()
    origin = request.headers.get("origin")
    if origin and origin != "null" and \
            origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise CsrfRefused()
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not _codec(request).token_ok(nonce, token):
        raise CsrfRefused()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _csrf_refused(request: Request) -> Response:
    return render(request, "error.html", 403, title="Form not accepted",
                  detail="This form did not carry a valid token for your session (it may be "
                         "from another site, or from before you signed in again). Nothing was "
                         "changed. Reload the page and try again.")


def _requested_scope(params: Any) -> dict[str, str]:
    given = {f: params.get(f) or None for f in SCOPE_FIELDS}
    check_scope(**given, required=False)  # plain, bounded strings (names the bad field)
    return {f: v for f, v in given.items() if v}


def _page_number(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidInput(f"page must be a whole number from 1 to {MAX_PAGE}, got {raw!r:.40}")
    return int(raw)


# --- sign in / out ----------------------------------------------------------------------------
@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui")
async def ui_root() -> Response:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    if not _auth_enabled(request) or await _viewer(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    nonce = _login_nonce(request)
    fresh = nonce is None
    nonce = nonce or secrets.token_hex(16)
    response = render(request, "login.html", next=_safe_next(next), viewer=None,
                      csrf_token=_codec(request).token(nonce))
    if fresh:
        _set_login_cookie(response, request, nonce)
    return response


@router.post("/ui/login")
async def login(request: Request) -> Response:
    try:
        form = await _form(request, _login_nonce(request))
    except CsrfRefused:
        return _csrf_refused(request)
    target = _safe_next(form.get("next"))
    raw = (form.get("api_key") or "").strip()
    key = None
    if raw and len(raw) <= MAX_KEY_CHARS and _auth_enabled(request):
        key = await run_in_threadpool(request.app.state.keys.verify, raw)
    if key is None:
        return render(request, "login.html", 401, next=target, viewer=None,
                      csrf_token=_codec(request).token(_login_nonce(request) or ""),
                      error="That key was not accepted: it is unknown, revoked or mistyped.")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, _codec(request).seal(raw), max_age=SESSION_MAX_AGE,
                        path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    viewer = await _viewer(request)
    try:
        await _form(request, viewer.session.nonce if viewer else None)
    except CsrfRefused:
        return _csrf_refused(request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# --- pages ------------------------------------------------------------------------------------
@router.get("/ui/")
async def scopes_page(request: Request) -> Response:
    viewer = await _require(request)
    if isinstance(viewer, Response):
        return viewer
    memory = request.app.state.memory
    counts = await run_in_threadpool(scope_counts.count_scopes, memory.store, viewer.scope)
    tables = [(f, sorted(counts.counts[f].items(), key=lambda kv: (-kv[1], kv[0])))
              for f in SCOPE_FIELDS]
    return render(request, "scopes.html", nav="scopes", counts=counts, tables=tables,
                  max_scanned=scope_counts.MAX_SCANNED)


@router.get("/ui/memories")
async def memories_page(request: Request) -> Response:
    viewer = await _require(request)
    if isinstance(viewer, Response):
        return viewer
    scope = viewer.within(_requested_scope(request.query_params))
    if not scope:
        return RedirectResponse("/ui/", status_code=303)
    memory = request.app.state.memory
    query = (request.query_params.get("q") or "").strip()
    page = _page_number(request.query_params.get("page"))
    if query:
        found = await run_in_threadpool(
            lambda: memory.search(query, **scope, limit=SEARCH_LIMIT))
        items, more = found.results, False
    else:
        listed = await run_in_threadpool(
            lambda: memory.get_all(**scope, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE))
        items, more = listed.results[:PAGE_SIZE], len(listed.results) > PAGE_SIZE
    return render(request, "memories.html", nav="scopes", scope=scope, query=query, items=items,
                  page=page, more=more, page_size=PAGE_SIZE, search_limit=SEARCH_LIMIT,
                  mode=memory.config.search.mode,
                  done=request.query_params.get("done"))


async def _memory_or_404(request: Request, viewer: Viewer, memory_id: str) -> Any:
    memory = request.app.state.memory
    item = await run_in_threadpool(lambda: memory.get(memory_id, **viewer.scope))
    if item is None:
        raise MemoryNotFound(memory_id)
    return item


def _derives_from(memory_id: str, scope: dict[str, str], text_hash: str | None) -> bool:
    from memstack.models import Scope
    from memstack.payload import memory_id as derive

    return bool(text_hash) and derive(Scope(**scope), text_hash or "") == memory_id


def _scope_of(item: Any) -> dict[str, str]:
    return {f: getattr(item, f) for f in SCOPE_FIELDS if getattr(item, f)}


@router.get("/ui/memories/{memory_id}")
async def memory_page(request: Request, memory_id: str) -> Response:
    viewer = await _require(request)
    if isinstance(viewer, Response):
        return viewer
    item = await _memory_or_404(request, viewer, memory_id)
    return render(request, "memory.html", nav="scopes", item=item, scope=_scope_of(item),
                  done=request.query_params.get("done"))


@router.get("/ui/memories/{memory_id}/history")
async def history_page(request: Request, memory_id: str) -> Response:
    viewer = await _require(request)
    if isinstance(viewer, Response):
        return viewer
    memory = request.app.state.memory
    item = await run_in_threadpool(lambda: memory.get(memory_id, **viewer.scope))
    entries = await run_in_threadpool(memory.history, memory_id)
    # History rows carry no scope. A scoped key sees the history of a live memory in its scope
    # and, once deleted, of one whose id derives from its scope and its first text (ids are
    # scope + content hash), as the API decides; an admin sees every history.
    visible = item is not None or (bool(entries) and (
        not viewer.scope or _derives_from(memory_id, viewer.scope, entries[0].new_hash)))
    if not visible:
        raise MemoryNotFound(memory_id)
    return render(request, "history.html", nav="scopes", item=item, memory_id=memory_id,
                  entries=list(reversed(entries)), scope=_scope_of(item) if item else {})


@router.post("/ui/memories/{memory_id}/edit")
async def edit_memory(request: Request, memory_id: str) -> Response:
    viewer = await _viewer(request)
    try:
        form = await _form(request, viewer.session.nonce if viewer else None)
    except CsrfRefused:
        return _csrf_refused(request)
    if viewer is None:
        return _to_login(request)
    viewer.check_can_write()
    memory = request.app.state.memory
    event = await run_in_threadpool(lambda: memory.update(
        memory_id, form.get("text", ""), actor_id=viewer.actor, **viewer.scope))
    done = "saved" if event.event == "UPDATE" else "unchanged"
    return RedirectResponse(f"/ui/memories/{memory_id}?done={done}", status_code=303)


@router.post("/ui/memories/{memory_id}/delete")
async def delete_memory(request: Request, memory_id: str) -> Response:
    viewer = await _viewer(request)
    try:
        await _form(request, viewer.session.nonce if viewer else None)
    except CsrfRefused:
        return _csrf_refused(request)
    if viewer is None:
        return _to_login(request)
    viewer.check_can_write()
    memory = request.app.state.memory
    item = await _memory_or_404(request, viewer, memory_id)
    await run_in_threadpool(lambda: memory.delete(memory_id, actor_id=viewer.actor,
                                                  **viewer.scope))
    return RedirectResponse(f"/ui/memories{scope_query(_scope_of(item), done='deleted')}",
                            status_code=303)


@router.get("/ui/stack")
async def stack_page(request: Request) -> Response:
    viewer = await _require(request)
    if isinstance(viewer, Response):
        return viewer
    memory = request.app.state.memory
    checks = await run_in_threadpool(stack.health, memory)
    # Settings (paths, hosts, models) describe the deployment, not a scope: admin keys only.
    providers = stack.providers(memory, with_settings=viewer.admin)
    engine = stack.engine_settings(memory) if viewer.admin else None
    return render(request, "stack.html", nav="stack", providers=providers, engine=engine,
                  plugins=stack.plugins(), versions=stack.versions(), checks=checks)


@router.api_route("/ui/{rest:path}", methods=["GET", "POST"])
async def not_found(request: Request, rest: str) -> Response:
    await _viewer(request)  # so the page shows who is signed in
    return error_page(request, StarletteHTTPException(404, "There is no dashboard page at "
                                                           "this address."))
