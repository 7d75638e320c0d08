"""`memstack plugin new NAME --kind KIND`: added to the `memstack` command through the hook
``memstack_commands``; the generator itself is imported only when the command runs."""

from __future__ import annotations

import argparse

from memstack.hookspecs import hookimpl

KINDS = ("vector_store", "embedder", "llm", "reranker", "history_store")


@hookimpl
def memstack_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("plugin", help="start a new plugin package (memstack plugin new)")
    sub = p.add_subparsers(dest="plugin_command", required=True, metavar="COMMAND")
    n = sub.add_parser(
        "new", help="write a plugin skeleton that passes the contract suite as generated",
        description="Write DIR/memstack-NAME/: pyproject (entry point, memstack range), plugin.py, "
        "capabilities.py, config model, provider module, contract test, README and a GitHub "
        "Actions workflow. Then: pip install -e 'memstack-NAME[test]' && pytest memstack-NAME")
    n.add_argument("name", help="provider name: lowercase letters, digits and '-', e.g. acme")
    n.add_argument("--kind", required=True, choices=KINDS, help="the kind of provider")
    n.add_argument("--dir", default=".", help="parent directory of the new package (default: .)")
    n.set_defaults(func=cmd_plugin_new)


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from memstack_contract.scaffold.generate import generate

    target = generate(args.name, args.kind, args.dir)
    print(f"wrote {target}")
    print(f"next: pip install -e '{target}[test]' && pytest {target}")
    return 0
