"""The memstack plugin of memstack-server: `memstack serve` / `memstack keys` and the metrics hooks.

Loaded whenever memstack discovers plugins, so it imports no web framework: the commands import
FastAPI and uvicorn inside their handlers, and the hooks only bump counters.
"""

from __future__ import annotations

import argparse
from typing import Any

from memstack.hookspecs import hookimpl
from memstack_server.metrics import METRICS


@hookimpl
def memstack_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from memstack_server.commands import add_commands

    add_commands(subparsers)


@hookimpl
def memstack_after_change(ctx: Any) -> None:
    METRICS.operation(ctx.event.event)


@hookimpl
def memstack_after_search(ctx: Any) -> None:
    METRICS.search()
