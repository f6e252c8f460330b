"""`milestonectl`: the command client of milestoned.

This file builds the parser from `cli_files` (offline commands on files) and `cli_daemon` (commands
that talk to the daemon, plus audit, claim and devnet), which wire argparse to the command modules
(`schedule_cmd`, `attest_cmd`, `keys_cmd`, `daemon_cmd`, `doctor_cmd`, …): each
sub-command sets a `handler(args, out) -> exit code`, and `main` turns a `CommandError` into a message
with its fix (or a JSON error object) and the right exit code. A new sub-command adds a parser and a
handler; nothing here grows logic of its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from milestoned.commands import cli_daemon, cli_files
from milestoned.commands.cli_shared import EXIT_CODES, Handler
from milestoned.commands.output import CommandError, ExitCode, Output


class _VersionAction(argparse.Action):
    """`--version`, reading the package metadata only when asked (it is slow to import)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from milestoned import __version__

        sys.stdout.write(f"milestonectl {__version__}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestonectl",
        description=(
            "The milestoned command client. Works offline for admins, oracles and auditors: validate and "
            "show schedule files, sign and verify oracle attestations, check key files. Talks to the running "
            "daemon over its Unix socket: status, schedules, schedule register, "
            "signature commit, milestones, claimable, "
            "release, reclaim, milestone cancel, jobs, submissions, tx submit, attestations export, "
            "log verify / replay, "
            "doctor, recovery card. Beneficiaries claim without the daemon: claim (an attestations file "
            "and Ogmios), allocation move (a key and Ogmios). Needs only Ogmios: audit. "
            "Rehearsals: devnet fund."
        ),
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    parser.add_argument(
        "--socket",
        type=Path,
        default=None,
        metavar="PATH",
        help="the daemon's socket (default $MILESTONED_SOCKET, else /run/milestoned/milestoned.sock)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli_files.add_commands(sub)
    cli_daemon.add_commands(sub)
    from milestoned.commands.move_cmd import add_commands as add_move_commands
    from milestoned.commands.recovery_cmd import add_commands as add_recovery_commands

    add_move_commands(sub, EXIT_CODES)
    add_recovery_commands(sub, EXIT_CODES)
    from milestoned.commands.cancel_cmd import add_commands as add_cancel_commands

    add_cancel_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in `argv`; without it, the command line's, as the program (which then also sends
    the log lines of the library code it runs to stderr: `_library_logs_to_stderr`)."""
    if argv is None:
        _library_logs_to_stderr()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, --version and usage errors: argparse already printed
        code = exit_request.code
        return code if isinstance(code, int) else (0 if code is None else int(ExitCode.USAGE))
    if args.command is None:
        parser.print_help()
        return ExitCode.OK
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # a group without its action, e.g. `milestonectl schedule`
        group_parser: argparse.ArgumentParser = args.group_parser
        group_parser.print_usage(sys.stderr)
        sys.stderr.write(f"{group_parser.prog}: error: choose an action; see {group_parser.prog} --help\n")
        return ExitCode.USAGE
    out = Output(json_mode=bool(args.json))
    try:
        return handler(args, out)
    except CommandError as error:
        # Not imported at the top: the schedule reader pulls in pycardano (about a second), which a query
        # such as `milestonectl status` never needs; an error from it means it was imported already.
        reader = sys.modules.get("milestoned.commands.schedule_source")
        if reader is not None and isinstance(error, reader.ScheduleFileInvalid):
            return _schedule_invalid(out, error)
        return out.error(error)
    except KeyboardInterrupt:
        return 130


def _library_logs_to_stderr() -> None:
    """The log lines of the library code a command runs (which evaluator checks the scripts, a retried
    Ogmios connection) go to stderr, as warnings do: stdout carries only the command's answer, with
    --json one JSON document a script parses. structlog prints on stdout unless configured; it is not
    imported here (a query never needs it, and it costs tens of milliseconds) but configured when
    something first imports it. A program that configured structlog itself keeps its configuration."""
    if "structlog" in sys.modules:
        _structlog_to_stderr(sys.modules["structlog"])
    elif not any(isinstance(finder, _ConfigureStructlogOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigureStructlogOnImport())


def _structlog_to_stderr(structlog: Any) -> None:
    if not structlog.is_configured():
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))


class _ConfigureStructlogOnImport:
    """An import hook for structlog alone: it finds structlog as the other finders would, and has its
    loader configure it (`_structlog_to_stderr`) once the package is loaded; then it leaves."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "structlog":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenToStderr(spec.loader)  # type: ignore[assignment]
        return spec


class _ThenToStderr:
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        _structlog_to_stderr(module)


def _schedule_invalid(out: Output, error: Any) -> int:
    """Every problem of the schedule file, as `schedule validate` shows them, then the error itself."""
    from milestoned.commands.schedule_cmd import field_error_document, render_schedule_errors

    if out.json_mode:
        out.emit_json(
            {
                "ok": False,
                "error": error.to_json(),
                "errors": [field_error_document(field) for field in error.errors],
            }
        )
        return int(error.exit_code)
    render_schedule_errors(out, error.path, error.errors)
    return out.error(error)


if __name__ == "__main__":
    sys.exit(main())
