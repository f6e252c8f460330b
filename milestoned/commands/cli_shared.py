"""What every `milestonectl` sub-command parser shares: the exit-code epilog, `--json`, `--socket`.

Kept apart from `cli` so the modules that declare sub-commands (`cli_files`, `cli_daemon`) and the
entry point depend on it, not on each other.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from milestoned.commands.output import Output

Handler = Callable[[argparse.Namespace, Output], int]
if TYPE_CHECKING:  # argparse's class is generic only to type checkers
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    SubParsers = argparse._SubParsersAction

EXIT_CODES = (
    "exit codes: 0 ok; 1 validation or verification failed; 2 usage error (bad arguments, missing file)"
)


def json_flag(parser: argparse.ArgumentParser) -> None:
    """`--json` after the sub-command too; SUPPRESS keeps a top-level `--json` from being reset."""
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON"
    )


def socket_flag(parser: argparse.ArgumentParser) -> None:
    """`--socket` after the sub-command too (SUPPRESS keeps a top-level `--socket` from being reset)."""
    parser.add_argument(
        "--socket",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="the daemon's socket (default $MILESTONED_SOCKET, else /run/milestoned/milestoned.sock)",
    )


def daemon_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=description, epilog=EXIT_CODES)
    json_flag(parser)
    socket_flag(parser)
    return parser


def group(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES)
    json_flag(parser)
    parser.set_defaults(handler=None, group_parser=parser)
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")


def socket_of(args: argparse.Namespace) -> Path:
    from milestoned.commands.socket_client import socket_path

    return socket_path(getattr(args, "socket", None))
