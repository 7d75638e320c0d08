"""`memstack check`: added to the `memstack` command by this distribution (hook
``memstack_commands``), so the core's CLI imports nothing from the contract suite."""

from __future__ import annotations

import argparse

from memstack.hookspecs import hookimpl


@hookimpl
def memstack_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from memstack_contract.check import add_check_options  # stdlib-only at import time

    p = subparsers.add_parser("check", help="run the contract suite on an installed provider")
    p.add_argument("provider", nargs="?", help="KIND:NAME, e.g. vector_store:chroma")
    add_check_options(p)
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Everything that can be wrong before the suite starts (provider, JSON, config fields,
    --xfail) is one ConfigError line and exit code 2; then the suite runs."""
    from memstack.errors import ConfigError
    from memstack_contract.check import (
        _check_target,
        config_problem,
        known_failures,
        parse_config,
        run_check,
    )

    if not args.provider:
        raise ConfigError("give the provider to check as KIND:NAME, e.g. vector_store:memory")
    config = parse_config(args.config)
    failures = known_failures(getattr(args, "xfail", []))
    problem = _check_target(args.provider) or config_problem(args.provider, config)
    if problem:
        raise ConfigError(problem, field="config" if args.config else None)
    return run_check(args.provider, config, args.report, known_failures=failures,
                     junit_xml=args.junit_xml, data_dir=args.data_dir)
