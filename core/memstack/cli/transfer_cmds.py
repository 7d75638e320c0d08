"""`memstack export` and `memstack import`: back up, restore, and move memories between configs.

`import` reads either a memstack export (its first line is the export header) or, as before,
plain JSONL with one text per line (`memory_cmds.cmd_import`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from memstack.cli import output
from memstack.errors import InvalidInput


def _scope(args: Any) -> dict[str, str]:
    given = {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}
    return {k: v for k, v in given.items() if v is not None}


def cmd_export(args: Any) -> int:
    from memstack.memory import Memory
    from memstack.transfer import export_lines

    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    count = 0
    try:
        with Memory(args.config) as m:
            for line in export_lines(m, scope=_scope(args) or None,
                                     vectors=not args.no_vectors):
                out.write(line)
                count += line.startswith('{"type": "memory"')
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"exported {count} memories", file=sys.stderr)
    return 0


def cmd_import(args: Any) -> int:
    from memstack.transfer import import_lines, is_export

    path = Path(args.file)
    try:
        with path.open(encoding="utf-8") as f:
            first = f.readline()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    if not is_export(first):
        from memstack.cli.memory_cmds import cmd_import as plain_import

        return plain_import(args)
    if _scope(args):
        raise InvalidInput("--user/--agent/--run apply to plain JSONL; an export keeps each "
                           "memory's own scope")
    from memstack.memory import Memory

    with path.open(encoding="utf-8") as f, Memory(args.config) as m:
        summary = import_lines(m, f, progress=not args.json and not args.no_progress)
    if args.json:
        output.emit_json(summary.as_dict())
    else:
        s = summary
        output.console().print(
            f"imported {s.memories} memories: {s.added} added, {s.updated} updated, "
            f"{s.unchanged} already stored; {s.history_added} history entries added; "
            f"{s.reembedded} re-embedded")
    return 0
