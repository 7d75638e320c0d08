"""Registers `memstack mcp` (hook ``memstack_commands``); imports nothing heavy."""

from __future__ import annotations

import argparse

from memstack.hookspecs import hookimpl


@hookimpl
def memstack_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from memstack_mcp.cli import add_parser

    add_parser(subparsers)
