"""The `memstack` command. Plain text for people, ``--json`` for machines; exit 2 on user error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _memory_args(p: argparse.ArgumentParser, scope: bool = True) -> None:
    p.add_argument("--config", help="config file (YAML / TOML / JSON); default $MEMSTACK_CONFIG")
    p.add_argument("--json", action="store_true", help="print JSON")
    if scope:
        p.add_argument("--user", help="user_id scope")
        p.add_argument("--agent", help="agent_id scope")
        p.add_argument("--run", help="run_id scope")


def build_parser() -> argparse.ArgumentParser:
    from memstack.capabilities import Kind
    from memstack.cli import demo, memory_cmds, plugins_cmd, transfer_cmds

    parser = argparse.ArgumentParser(prog="memstack", description="Long-term memory for AI agents.")
    parser.add_argument("--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("plugins", help="list discovered plugins and their providers")
    p.add_argument("--json", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true", help="also list capabilities")
    p.add_argument("--strict", action="store_true", help="exit 1 if any plugin failed to load")
    p.set_defaults(func=plugins_cmd.cmd_plugins)

    p = sub.add_parser("config", help="validate a config or print a provider's config schema")
    csub = p.add_subparsers(dest="config_command", required=True)
    v = csub.add_parser("validate", help="validate a config file and every provider section")
    v.add_argument("file")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=plugins_cmd.cmd_config_validate)
    s = csub.add_parser("schema", help="JSON schema of a provider's config (or of 'memory')")
    s.add_argument("kind", help=" | ".join([*map(str, Kind), "memory"]))
    s.add_argument("name", nargs="?")
    s.set_defaults(func=plugins_cmd.cmd_config_schema)

    p = sub.add_parser("add", help="add a memory")
    p.add_argument("text")
    p.add_argument("--no-infer", action="store_true", help="store the text as given")
    p.add_argument("--metadata", help="JSON object of metadata")
    _memory_args(p)
    p.set_defaults(func=memory_cmds.cmd_add)

    p = sub.add_parser("search", help="search memories in a scope")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--threshold", type=float)
    p.add_argument("--filters", help='JSON filter, e.g. {"topic": "food"}')
    p.add_argument("--as-of", help="what was valid at this ISO date-time (default: now)")
    _memory_args(p)
    p.set_defaults(func=memory_cmds.cmd_search)

    p = sub.add_parser("list", help="list memories in a scope")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--filters", help="JSON filter")
    p.add_argument("--as-of", help="what was valid at this ISO date-time (default: now)")
    _memory_args(p)
    p.set_defaults(func=memory_cmds.cmd_list)

    p = sub.add_parser("prune", help="delete every memory whose expires_at has passed "
                       "(all scopes; running it again deletes nothing)")
    _memory_args(p, scope=False)
    p.set_defaults(func=memory_cmds.cmd_prune)

    p = sub.add_parser("history", help="history of one memory")
    p.add_argument("id")
    _memory_args(p, scope=False)
    p.set_defaults(func=memory_cmds.cmd_history)

    p = sub.add_parser("delete", help="delete one memory")
    p.add_argument("id")
    _memory_args(p, scope=False)
    p.set_defaults(func=memory_cmds.cmd_delete)

    p = sub.add_parser("import", help="import a `memstack export` file (idempotent), or bulk-add "
                       "a JSONL file of one text per line")
    p.add_argument("file")
    p.add_argument("--no-progress", action="store_true")
    _memory_args(p)
    p.set_defaults(func=transfer_cmds.cmd_import)

    p = sub.add_parser("export", help="write every memory (or a scope's) with its history as "
                       "JSONL, to back up or move to another config")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--no-vectors", action="store_true",
                   help="leave vectors out (smaller; the import re-embeds)")
    _memory_args(p)
    p.set_defaults(func=transfer_cmds.cmd_export)

    p = sub.add_parser("demo", help="run the offline demo on the embedded default stack")
    p.add_argument("--dir", help="keep the demo's data here (default: a temporary directory)")
    p.set_defaults(func=demo.cmd_demo)

    _plugin_commands(sub)
    return parser


def _plugin_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Subcommands from plugins (hook ``memstack_commands``). One plugin whose hook fails, or
    that takes a name already in use, is marked failed in `memstack plugins`; the rest work."""
    from memstack.plugins import call_each

    call_each("memstack_commands", subparsers=sub)


def main(argv: Sequence[str] | None = None) -> int:
    from memstack.errors import MemstackError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from memstack.version import __version__

        print(f"memstack {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except MemstackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
