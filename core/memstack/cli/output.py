"""Printing for people (rich tables) and machines (``--json``)."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel


def console(stderr: bool = False):  # type: ignore[no-untyped-def]
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160  # pipes and CI logs: don't squeeze tables to 80
    return Console(stderr=stderr, soft_wrap=False, width=width)


def dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(dump(value), indent=2, ensure_ascii=False) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    console().print(t)


def memories(title: str, items: list[Any]) -> None:
    rows = [[f"{it.score:.3f}" if it.score is not None else "", it.memory, it.id,
             it.created_at[:19]] for it in items]
    table(title, ["score", "memory", "id", "created"], rows)
