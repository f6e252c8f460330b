"""`milestonectl` sub-commands that work on files, offline: `schedule`, `attest`, `keys`.

(`schedule register` sits in the schedule group but sends the file to the daemon.) Each handler
imports its command module when it runs, so `--help` and unrelated commands stay fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from milestoned.commands.cli_shared import (
    EXIT_CODES,
    SubParsers,
    group,
    json_flag,
    socket_flag,
    socket_of,
)
from milestoned.commands.output import Output


def add_commands(sub: SubParsers) -> None:
    _add_schedule_commands(sub)
    _add_attest_commands(sub)
    _add_keys_commands(sub)


def _run_validate(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import schedule_cmd

    return schedule_cmd.validate(args.file, out)


def _run_show(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import schedule_cmd

    return schedule_cmd.show(args.file, out)


def _run_from_csv(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import schedule_csv_cmd

    return schedule_csv_cmd.from_csv(args.csv, args.base, args.out, args.total, args.force, out)


def _run_to_csv(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import schedule_csv_cmd

    return schedule_csv_cmd.to_csv(args.file, args.out, args.force, out)


def _run_sign(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import attest_cmd
    from milestoned.domain.attestation import Statement

    request = attest_cmd.SignRequest(
        key_path=args.key,
        milestone=args.milestone,
        schedule_path=args.schedule,
        schedule_id_hex=args.schedule_id,
        out=args.out,
        force=args.force,
        statement=Statement.CANCEL if args.cancel else Statement.ATTEST,
    )
    return attest_cmd.sign(request, out)


def _run_verify(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import attest_cmd
    from milestoned.domain.attestation import Statement

    statement = Statement.CANCEL if args.cancel else Statement.ATTEST
    return attest_cmd.verify(args.files, args.schedule, args.require_quorum, out, statement)


def _run_keys_check(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import keys_cmd

    return keys_cmd.check(args.paths, out)


def _run_register(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.schedule_register(
        socket_of(args),
        args.file,
        args.dry_run,
        args.admin_address,
        args.unsigned_out,
        out,
        force=args.force,
        resume=args.resume,
    )


def _add_schedule_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = group(sub, "schedule", "check and inspect schedule files")
    validate = actions.add_parser(
        "validate",
        help="list every problem of a schedule file, each with how to fix it",
        description=(
            "Read a schedule file as the daemon will (.vkey paths relative to the file) and list every "
            "problem at once: the field's path, what is wrong and how to fix it. When the file is valid, "
            "print its schedule id."
        ),
        epilog=EXIT_CODES,
    )
    validate.add_argument("file", type=Path, metavar="FILE", help="the schedule file (JSON)")
    json_flag(validate)
    validate.set_defaults(handler=_run_validate)
    show = actions.add_parser(
        "show",
        help="show a valid schedule: id, validator address, token, oracles, milestones, allocations",
        description=(
            "Show what a valid schedule puts on chain: network, schedule id (= the auth-token policy id), "
            "validator address, token, admin, oracles and quorum, reclaim deadline, per-milestone totals "
            "and every allocation."
        ),
        epilog=EXIT_CODES,
    )
    show.add_argument("file", type=Path, metavar="FILE", help="the schedule file (JSON)")
    json_flag(show)
    show.set_defaults(handler=_run_show)
    from_csv = actions.add_parser(
        "from-csv",
        help="build a schedule file from a recipients CSV and a base file of the other fields",
        description=(
            "Read recipients from a CSV (columns beneficiary_address, token_amount or share, "
            "milestone_identifier, vesting_timestamp; header names as in the schedule format) and write a "
            "schedule file: the base file's network, admin, token, oracles, quorum and deadline with one "
            "allocation per row. Shares are percentages summing to exactly 100 of --total, split exactly. "
            "Every problem is listed at once with its row and column; nothing is written unless all rows "
            "are valid."
        ),
        epilog=EXIT_CODES,
    )
    from_csv.add_argument("csv", type=Path, metavar="CSV", help="the recipients CSV (header in row 1)")
    from_csv.add_argument(
        "--base", type=Path, required=True, metavar="FILE", help="a schedule file without allocations (JSON)"
    )
    from_csv.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the schedule file to write"
    )
    from_csv.add_argument("--total", type=int, metavar="N", help="token units the shares divide (share CSVs)")
    from_csv.add_argument("--force", action="store_true", help="replace --out if it exists")
    json_flag(from_csv)
    from_csv.set_defaults(handler=_run_from_csv)
    to_csv = actions.add_parser(
        "to-csv",
        help="write a schedule file's allocations as a recipients CSV",
        description=(
            "Write the allocations of a valid schedule file as CSV (amount form), to --out or stdout. "
            "Reading it back with from-csv and the same base gives the same schedule."
        ),
        epilog=EXIT_CODES,
    )
    to_csv.add_argument("file", type=Path, metavar="FILE", help="the schedule file (JSON)")
    to_csv.add_argument("--out", type=Path, metavar="FILE", help="the CSV to write (default: stdout)")
    to_csv.add_argument("--force", action="store_true", help="replace --out if it exists")
    json_flag(to_csv)
    to_csv.set_defaults(handler=_run_to_csv)
    register = actions.add_parser(
        "register",
        help="register a schedule with the daemon (admins), or --dry-run to see what it would record",
        description=(
            "Read and validate the schedule file here (its .vkey paths "
            "relative to the file), then send it to "
            "the daemon, which validates it again, derives its "
            "schedule id and records it in the event log so "
            "that the indexer recognises its allocations. Registering the same schedule again is harmless. "
            "With --admin-address the daemon also builds the registration transactions (unsigned) for the "
            "admin to sign elsewhere; --unsigned-out writes them as cardano-cli text envelopes."
        ),
        epilog=EXIT_CODES,
    )
    register.add_argument("file", type=Path, metavar="FILE", help="the schedule file (JSON)")
    register.add_argument("--dry-run", action="store_true", help="validate and show; record nothing")
    register.add_argument(
        "--admin-address", metavar="ADDR", help="build the registration transactions paid by this address"
    )
    register.add_argument(
        "--unsigned-out", type=Path, metavar="DIR", help="write the unsigned transactions into DIR"
    )
    register.add_argument(
        "--force", action="store_true", help="register even though the reclaim deadline is already past"
    )
    register.add_argument(
        "--resume",
        action="store_true",
        help="with --admin-address: build only the allocations not yet locked on chain (an interrupted "
        "registration whose signed files are lost; with the files, run `tx submit DIR` again instead)",
    )
    json_flag(register)
    socket_flag(register)
    register.set_defaults(handler=_run_register)
    from milestoned.commands.schedule_pause_cmd import add_pause_commands

    add_pause_commands(actions)
    from milestoned.commands.schedule_seed_cmd import add_seed_command

    add_seed_command(actions)


def _add_attest_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = group(sub, "attest", "sign milestone attestations offline (oracles) and verify them")
    sign = actions.add_parser(
        "sign",
        help="sign that a milestone is complete, with an oracle's .skey, into an attestation file",
        description=(
            "Sign the attestation message of one milestone of one schedule with an oracle's cardano-cli "
            ".skey (PaymentSigningKeyShelley_ed25519) and write {schedule_id, milestone_id, oracle_key, "
            "signature} as JSON for the admin to commit. Works offline. The key file must be private "
            "(chmod 600); the key is never printed. With --schedule, the milestone and your key are "
            "checked against the schedule first."
        ),
        epilog=EXIT_CODES,
    )
    sign.add_argument(
        "--key", type=Path, required=True, metavar="ORACLE.skey", help="the oracle's signing key"
    )
    which = sign.add_mutually_exclusive_group(required=True)
    which.add_argument("--schedule", type=Path, metavar="FILE", help="the schedule file (derives its id)")
    which.add_argument(
        "--schedule-id", metavar="HEX", help="the schedule id (56 hex digits) instead of the file"
    )
    sign.add_argument("--milestone", required=True, metavar="ID", help="the milestone identifier, exactly")
    sign.add_argument(
        "--out",
        metavar="FILE",
        help="where to write the attestation ('-' for stdout; default attestation-<milestone>-<key>.json)",
    )
    sign.add_argument("--force", action="store_true", help="replace an existing --out file that differs")
    sign.add_argument(
        "--cancel",
        action="store_true",
        help="sign instead that the milestone will never be delivered (a cancellation file, default "
        "cancellation-<milestone>-<key>.json; its message milestoned/cancel/v1 can never count as an "
        "attestation)",
    )
    json_flag(sign)
    sign.set_defaults(handler=_run_sign)
    verify = actions.add_parser(
        "verify",
        help="check attestation files against a schedule and show each milestone's quorum status",
        description=(
            "Check attestation files against a schedule: made for this schedule, a milestone it has, by "
            "one of its oracles, with a valid signature. Prints each file's verdict and every milestone's "
            "quorum status: pending (fewer valid signatures than the quorum), met (exactly the quorum) or "
            "exceeded (more)."
        ),
        epilog=EXIT_CODES,
    )
    verify.add_argument("files", type=Path, nargs="+", metavar="FILE", help="attestation files")
    verify.add_argument("--schedule", type=Path, required=True, metavar="FILE", help="the schedule file")
    verify.add_argument(
        "--require-quorum",
        action="store_true",
        help="also fail (exit 1) unless every milestone the files attest to has reached its quorum",
    )
    verify.add_argument(
        "--cancel",
        action="store_true",
        help="check cancellation files (attest sign --cancel) instead: an attestation is refused here, "
        "as a cancellation is without --cancel",
    )
    json_flag(verify)
    verify.set_defaults(handler=_run_verify)


def _add_keys_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = group(sub, "keys", "check key files")
    check = actions.add_parser(
        "check",
        help="check key files' permissions and format, with fixes",
        description=(
            "Check cardano-cli key files: signing keys (.skey) readable or writable by group or others are "
            "refused (fix: chmod 600), verification keys must not be writable by group or others, envelopes "
            "must be well-formed ed25519 keys, and a .skey must match the .vkey of the same name. A folder "
            "means the .skey and .vkey files directly in it. Prints each key's public verification key."
        ),
        epilog="exit codes: 0 every key file passes; 1 a problem was found (a missing file counts as one); "
        "2 usage error (bad arguments, a folder without key files)",
    )
    check.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="key files or folders")
    json_flag(check)
    check.set_defaults(handler=_run_keys_check)
