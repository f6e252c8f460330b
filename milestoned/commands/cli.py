"""`milestonectl`: the client that talks to milestoned over its Unix socket."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from milestoned import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestonectl",
        description=(
            "Talk to a running milestoned: register schedules, commit oracle signatures, query status and "
            "claimable amounts, submit releases, replay and verify the event log."
        ),
    )
    parser.add_argument("--version", action="version", version=f"milestonectl {__version__}")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
