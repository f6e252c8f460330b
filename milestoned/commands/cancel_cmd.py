"""`milestonectl milestone cancel`: a milestone will never be delivered; with a quorum of its oracles'
cancellation files (`attest sign --cancel`), the admin takes its still-locked allocations back at once,
before the reclaim deadline (issue 15, point 1).

The daemon checks every file before building anything (a cancellation, of this schedule and milestone,
by known oracles, valid, a quorum of distinct ones) and names each file that is wrong. As for `reclaim`:
with `--admin-address` and `--unsigned-out DIR` the transactions come back unsigned for the admin to sign
elsewhere and submit with `milestonectl tx submit`; without them the daemon's operator wallet signs and
submits, which the policy only accepts when that wallet is the schedule's admin.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from milestoned.commands.cli_shared import EXIT_CODES, SubParsers, group, json_flag, socket_flag, socket_of
from milestoned.commands.output import CommandError, ExitCode, Output

DESCRIPTION = (
    "When a milestone will never be delivered: with the cancellation files a quorum of the schedule's "
    "oracles signed (`milestonectl attest sign --cancel`), take every still-locked allocation of MILESTONE "
    "back to the admin now, without waiting for the reclaim deadline. The daemon checks every file first "
    "(a cancellation, not an attestation; this schedule; this milestone; one of the schedule's oracles; a "
    "valid signature; a quorum of distinct oracles) and builds nothing if one is wrong. With "
    "--admin-address and --unsigned-out the transactions are built unsigned: sign them with the admin key "
    "and submit them with `milestonectl tx submit`. Without them the daemon's operator wallet signs and "
    "submits, which only works when it is the schedule's admin. A cancellation is final: the milestone's "
    "allocations show `milestone_cancelled` in `claimable` from then on."
)


def add_commands(sub: SubParsers) -> None:
    milestone = group(sub, "milestone", "act on a milestone of a schedule: cancel (admins)")
    cancel = milestone.add_parser(
        "cancel",
        help="take a cancelled milestone's allocations back to the admin now (oracles' quorum + admin)",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
    )
    json_flag(cancel)
    socket_flag(cancel)
    cancel.add_argument("milestone", metavar="MILESTONE", help="the milestone, as named in the schedule file")
    cancel.add_argument(
        "files", type=Path, nargs="+", metavar="FILE", help="cancellation files (`attest sign --cancel`)"
    )
    which = cancel.add_mutually_exclusive_group()
    which.add_argument(
        "--schedule-id", metavar="HEX", help="the schedule (default: the daemon's only schedule)"
    )
    which.add_argument("--schedule", type=Path, metavar="FILE", help="the schedule file instead of its id")
    cancel.add_argument("--admin-address", metavar="ADDR", help="the admin's address (pays, receives)")
    cancel.add_argument(
        "--unsigned-out", type=Path, metavar="DIR", help="write the unsigned transactions into DIR"
    )
    cancel.add_argument("--dry-run", action="store_true", help="check and build; submit nothing")
    cancel.set_defaults(handler=_run_cancel)


def _run_cancel(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = socket_of(args)
    schedule_id = chosen_schedule_id(socket, args.schedule_id, args.schedule)
    return cancel(
        socket,
        schedule_id,
        args.milestone,
        args.files,
        args.admin_address,
        args.unsigned_out,
        args.dry_run,
        out,
    )


def read_files(files: list[Path]) -> list[str]:
    """The files' text, sent as they are (the daemon parses and judges them, and names each by number)."""
    texts = []
    for path in files:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                f"cannot read cancellation file {path}: {exc}",
                "give the .json files `milestonectl attest sign --cancel` wrote",
                exit_code=ExitCode.USAGE,
            ) from None
    return texts


def cancel(
    socket: Path,
    schedule_id: str,
    milestone: str,
    files: list[Path],
    admin_address: str | None,
    unsigned_out: Path | None,
    dry_run: bool,
    out: Output,
) -> int:
    from milestoned.commands.reclaim_cmd import AdminCall, check_admin_path, run_for_admin

    check_admin_path(admin_address, unsigned_out)
    params: dict[str, Any] = {
        "schedule_id": schedule_id,
        "milestone": milestone,
        "cancellations": read_files(files),
        "dry_run": dry_run,
    }

    def summary(result: dict[str, Any], transactions: int, allocations: int) -> list[str]:
        signers = ", ".join(str(i) for i in result["oracle_indices"])
        return [
            f"milestone {milestone!r}: cancellation by {result['valid_signers']} oracle(s) verified "
            f"(the transactions carry oracles {signers})",
            f"{'dry run: ' if dry_run else ''}{transactions} cancellation transaction(s) taking "
            f"{allocations} allocation(s) back to the admin, fee {result['plan']['total_fee_lovelace']} "
            "lovelace",
        ]

    return run_for_admin(
        AdminCall(socket, "milestone.cancel", params, admin_address, unsigned_out, "cancel"),
        out,
        summary,
        "not taken back",
    )
