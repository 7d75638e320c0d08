"""`memstack add | search | list | history | delete | prune | import`: the API from a shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memstack.cli import output
from memstack.errors import InvalidInput


def _memory(args: Any):  # type: ignore[no-untyped-def]
    from memstack.memory import Memory

    return Memory(args.config)


def _scope(args: Any) -> dict[str, Any]:
    return {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}


def _json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None


def cmd_add(args: Any) -> int:
    with _memory(args) as m:
        result = m.add(args.text, **_scope(args), metadata=_json_arg(args.metadata, "--metadata"),
                       infer=False if args.no_infer else None)
    if args.json:
        output.emit_json(result)
    else:
        how = "extracted by the LLM" if result.inferred else "stored as given"
        output.table(f"add ({how})", ["event", "memory", "id"],
                     [[e.event, e.memory, e.id] for e in result.results])
    return 0


def cmd_search(args: Any) -> int:
    with _memory(args) as m:
        result = m.search(args.query, **_scope(args), limit=args.limit,
                          filters=_json_arg(args.filters, "--filters"),
                          threshold=args.threshold, as_of=args.as_of)
    if args.json:
        output.emit_json(result)
    else:
        output.memories(f"search: {args.query}", result.results)
    return 0


def cmd_list(args: Any) -> int:
    with _memory(args) as m:
        result = m.get_all(**_scope(args), limit=args.limit,
                           filters=_json_arg(args.filters, "--filters"), as_of=args.as_of)
    if args.json:
        output.emit_json(result)
    else:
        output.memories(f"{len(result.results)} memories", result.results)
    return 0


def cmd_history(args: Any) -> int:
    with _memory(args) as m:
        entries = m.history(args.id)
    if args.json:
        output.emit_json(entries)
    else:
        output.table(f"history of {args.id}", ["when", "event", "old", "new"],
                     [[e.created_at[:19], e.event, e.old_memory, e.new_memory] for e in entries])
    return 0


def cmd_prune(args: Any) -> int:
    with _memory(args) as m:
        events = m.prune()
    if args.json:
        output.emit_json(events)
    else:
        output.console().print(f"pruned {len(events)} expired memories")
    return 0


def cmd_delete(args: Any) -> int:
    with _memory(args) as m:
        event = m.delete(args.id)
    if args.json:
        output.emit_json(event)
    else:
        output.console().print(f"deleted {event.id}: {event.memory}")
    return 0


def read_jsonl(path: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """Lines are a JSON string or an object with "text" (or "memory"/"content") and "metadata"."""
    rows: list[tuple[str, dict[str, Any] | None]] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{n}: not valid JSON: {exc.msg}") from None
            if isinstance(obj, str):
                rows.append((obj, None))
                continue
            if not isinstance(obj, dict):
                raise InvalidInput(f"{path}:{n}: expected a string or an object")
            text = obj.get("text", obj.get("memory", obj.get("content")))
            if not isinstance(text, str):
                raise InvalidInput(f'{path}:{n}: object needs a "text" string')
            rows.append((text, obj.get("metadata")))
    return rows


def cmd_import(args: Any) -> int:
    rows = read_jsonl(Path(args.file))
    groups: dict[str, list[str]] = {}
    metas: dict[str, Any] = {}
    for text, meta in rows:  # one batched add per distinct metadata
        key = json.dumps(meta, sort_keys=True)
        groups.setdefault(key, []).append(text)
        metas[key] = meta
    counts: dict[str, int] = {}
    with _memory(args) as m:
        for key, texts in groups.items():
            result = m.add(texts, **_scope(args), metadata=metas[key], infer=False,
                           progress=not args.json and not args.no_progress)
            for e in result.results:
                counts[e.event] = counts.get(e.event, 0) + 1
    summary = {"lines": len(rows), "added": counts.get("ADD", 0),
               "unchanged": counts.get("NONE", 0)}
    if args.json:
        output.emit_json(summary)
    else:
        output.console().print(f"imported {summary['lines']} lines: {summary['added']} added, "
                               f"{summary['unchanged']} already stored")
    return 0
