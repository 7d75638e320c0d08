"""`memstack check`: added to the `memstack` command by this distribution (hook
``memstack_commands``), so the core's CLI imports nothing from the contract suite."""

from __future__ import annotations

import argparse
import json

from memstack.hookspecs import hookimpl


@hookimpl
def memstack_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("check", help="run the contract suite on an installed provider")
    p.add_argument("provider", nargs="?", help="KIND:NAME, e.g. vector_store:chroma")
    p.add_argument("--config", help="provider config as JSON")
    p.add_argument("--report", help="write a conformance report (markdown + JSON)")
    p.add_argument(
        "--xfail", action="append", default=[], metavar="TEST=REASON",
        help="a known failure, declared as `contract_xfail` declares it in a test class: it "
        "runs as a strict expected failure (the check fails the day it passes); repeatable")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from memstack.errors import ConfigError
    from memstack_contract.check import known_failures, run_check

    if not args.provider:
        raise ConfigError("give the provider to check as KIND:NAME, e.g. vector_store:memory")
    config = json.loads(args.config) if args.config else None
    return run_check(args.provider, config, args.report,
                     known_failures=known_failures(getattr(args, "xfail", [])))
