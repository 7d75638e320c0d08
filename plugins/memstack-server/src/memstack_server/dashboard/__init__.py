"""The web dashboard of memstack-server: sign in with an API key, browse scopes, list and
search memories, edit and delete them, read their history, see the stack and its health.

Server-rendered Jinja2 pages under ``/ui`` (``/`` redirects there), a stylesheet and a few lines
of JavaScript; no build step. The app calls `mount` once, after setting ``app.state.memory``
(the `Memory`), ``app.state.keys`` (``verify(raw_key) -> ApiKey | None``) and, optionally,
``app.state.settings`` (``auth.enabled``) and ``app.state.rate_limiter`` (``take(key_id)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes and static files to `app`."""
    from starlette.staticfiles import StaticFiles

    from memstack_server.dashboard.render import HERE
    from memstack_server.dashboard.routes import DashboardState, router

    app.state.dashboard = DashboardState()
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
    app.include_router(router)
