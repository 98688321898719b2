"""Dispatching ``python -m apiframe_magic`` to its subcommands, and the parser they share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._batch import EXIT_USAGE, add_batch_command, run_batch_command

__all__ = ["CommandParser", "main"]

PROG = "python -m apiframe_magic"


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2 (argparse's own
    print the whole usage first, which buries the line that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (--help lists the options)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = CommandParser(
        prog=PROG, description="Shell commands of apiframe-magic.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    add_batch_command(commands)
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        parser.error("name a command: batch")
    return run_batch_command(args)
