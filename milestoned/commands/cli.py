"""`milestonectl`: the command client of milestoned.

This file only wires argparse to the command modules (`schedule_cmd`, `attest_cmd`, `keys_cmd`, and
`daemon_cmd` / `doctor_cmd` for the commands that talk to the daemon over its socket): each
sub-command sets a `handler(args, out) -> exit code`, and `main` turns a `CommandError` into a message
with its fix (or a JSON error object) and the right exit code. A new sub-command adds a parser and a
handler; nothing here grows logic of its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from milestoned.commands.output import CommandError, ExitCode, Output

Handler = Callable[[argparse.Namespace, Output], int]

EXIT_CODES = (
    "exit codes: 0 ok; 1 validation or verification failed; 2 usage error (bad arguments, missing file)"
)


class _VersionAction(argparse.Action):
    """`--version`, reading the package metadata only when asked (it is slow to import)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from milestoned import __version__

        sys.stdout.write(f"milestonectl {__version__}\n")
        parser.exit()


def _json_flag(parser: argparse.ArgumentParser) -> None:
    """`--json` after the sub-command too; SUPPRESS keeps a top-level `--json` from being reset."""
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON"
    )


def _run_validate(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import schedule_cmd

    return schedule_cmd.validate(args.file, out)


def _run_show(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import schedule_cmd

    return schedule_cmd.show(args.file, out)


def _run_sign(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import attest_cmd

    request = attest_cmd.SignRequest(
        key_path=args.key,
        milestone=args.milestone,
        schedule_path=args.schedule,
        schedule_id_hex=args.schedule_id,
        out=args.out,
        force=args.force,
    )
    return attest_cmd.sign(request, out)


def _run_verify(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import attest_cmd

    return attest_cmd.verify(args.files, args.schedule, args.require_quorum, out)


def _run_keys_check(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import keys_cmd

    return keys_cmd.check(args.paths, out)


def _socket_flag(parser: argparse.ArgumentParser) -> None:
    """`--socket` after the sub-command too (SUPPRESS keeps a top-level `--socket` from being reset)."""
    parser.add_argument(
        "--socket",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="the daemon's socket (default $MILESTONED_SOCKET, else /run/milestoned/milestoned.sock)",
    )


def _daemon_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=description, epilog=EXIT_CODES)
    _json_flag(parser)
    _socket_flag(parser)
    return parser


def _socket(args: argparse.Namespace) -> Path:
    from milestoned.commands.socket_client import socket_path

    return socket_path(getattr(args, "socket", None))


def _run_status(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.status(_socket(args), out, wait=args.wait, wait_timeout_s=args.timeout)


def _run_register(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.schedule_register(
        _socket(args), args.file, args.dry_run, args.admin_address, args.unsigned_out, out, force=args.force
    )


def _run_signature_commit(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.signature_commit(_socket(args), args.files, out)


def _run_milestones(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.milestones(_socket(args), args.schedule_id, out)


def _run_claimable(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.claimable(_socket(args), args.beneficiary, args.schedule_id, out)


def _run_submissions(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.submissions(_socket(args), out)


def _run_release(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = _socket(args)
    schedule_id = chosen_schedule_id(socket, args.schedule_id, args.schedule)
    return daemon_cmd.release(
        socket, schedule_id, args.allocation or [], args.beneficiary, args.dry_run, out, wait=not args.no_wait
    )


def _run_jobs(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import jobs_cmd

    if getattr(args, "jobs_command", None) == "watch":
        return jobs_cmd.watch_command(_socket(args), args.job_id, out)
    return jobs_cmd.list_jobs(_socket(args), out)


def _run_schedules(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.schedule_choice import schedules

    return schedules(_socket(args), out)


def _run_reclaim(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.reclaim_cmd import reclaim
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = _socket(args)
    schedule_id = chosen_schedule_id(socket, args.schedule_id, args.schedule)
    return reclaim(
        socket, schedule_id, args.allocation or [], args.admin_address, args.unsigned_out, args.dry_run, out
    )


def _schedule_choice(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--schedule-id", metavar="HEX", help="the schedule (default: the daemon's only schedule)"
    )
    which.add_argument("--schedule", type=Path, metavar="FILE", help="the schedule file instead of its id")


def _run_tx_submit(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.tx_sign_cmd import signed_files

    files = signed_files(args.files)
    if args.ogmios:
        from milestoned.commands.claim_cmd import submit_direct

        return submit_direct(args.ogmios, files, out)
    from milestoned.commands import daemon_cmd

    return daemon_cmd.tx_submit(_socket(args), files, out)


def _run_attestations_export(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.claim_cmd import export
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = _socket(args)
    return export(socket, chosen_schedule_id(socket, args.schedule_id, args.schedule), args.out, out)


def _run_claim(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.claim_cmd import ClaimRequest, claim

    request = ClaimRequest(
        attestations=args.attestations,
        ogmios_url=args.ogmios,
        key=args.key,
        address=args.address,
        beneficiary=args.beneficiary,
        unsigned_out=args.unsigned_out,
        dry_run=args.dry_run,
    )
    return claim(request, out)


def _run_tx_sign(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.tx_sign_cmd import sign_files

    return sign_files(args.key, args.paths, out)


def _run_devnet_fund(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.devnet_cmd import devnet_url, fund

    url = devnet_url(args.ogmios, _socket(args))
    return fund(url, args.address, args.lovelace, args.asset or [], out)


def _run_log_verify(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.log_verify(_socket(args), out)


def _run_log_replay(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.log_replay(_socket(args), out)


def _run_log_report(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import log_report_cmd

    return log_report_cmd.log_report(args.log, args.html, args.network, args.ogmios, out)


def _run_doctor(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import doctor_cmd

    return doctor_cmd.doctor(args.config, getattr(args, "socket", None), out)


def _run_audit(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import audit_cmd

    request = audit_cmd.AuditRequest(
        ogmios=args.ogmios,
        start=args.start,
        schedules=tuple(args.schedule or ()),
        network=args.network,
        html=args.html,
        against_log=args.against_log,
    )
    return audit_cmd.audit(request, out)


def _add_audit_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser(
        "audit",
        help="verify schedules from the chain alone (needs only Ogmios; no daemon, no log)",
        description="Follow the chain from POINT to the tip and report, per schedule: the definition from "
        "its registration metadata and whether it derives the policy id, every allocation's life, who was "
        "paid what, which oracle keys attested each milestone, and the reconciliation (allocated = released "
        "+ reclaimed + still locked), flagging every difference. --against-log also lists every chain fact "
        "on which a daemon's event log (read-only) disagrees with the chain.",
        epilog="exit codes: 0 everything reconciles; 1 differences found; 2 usage error or Ogmios/log "
        "unreachable",
    )
    audit.add_argument(
        "--ogmios", required=True, metavar="URL", help="Ogmios endpoint, e.g. ws://127.0.0.1:1337"
    )
    audit.add_argument(
        "--schedule",
        action="append",
        metavar="ID",
        help="schedule id (policy id, 56 hex digits) to audit; repeat for several; default: every schedule",
    )
    audit.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="POINT",
        help="where to start reading: origin, or SLOT.HEADER_HASH of a block before the first registration",
    )
    audit.add_argument(
        "--network",
        choices=("mainnet", "preprod", "preview", "devnet"),
        help="the network Ogmios serves (default: asked from its genesis configuration)",
    )
    audit.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML report")
    audit.add_argument(
        "--against-log",
        metavar="STORE",
        help="a daemon's event log to compare (its events.db path, or sqlite:/// / postgresql:// URL)",
    )
    _json_flag(audit)
    audit.set_defaults(handler=_run_audit)


def _group(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES)
    _json_flag(parser)
    parser.set_defaults(handler=None, group_parser=parser)
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")


def _add_schedule_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = _group(sub, "schedule", "check and inspect schedule files")
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
    _json_flag(validate)
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
    _json_flag(show)
    show.set_defaults(handler=_run_show)
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
    _json_flag(register)
    _socket_flag(register)
    register.set_defaults(handler=_run_register)


def _add_attest_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = _group(sub, "attest", "sign milestone attestations offline (oracles) and verify them")
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
    _json_flag(sign)
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
    _json_flag(verify)
    verify.set_defaults(handler=_run_verify)


def _add_keys_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = _group(sub, "keys", "check key files")
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
    _json_flag(check)
    check.set_defaults(handler=_run_keys_check)


def _add_daemon_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = _daemon_parser(
        sub,
        "status",
        "the daemon's sync state, tips, lag, event log head and projection position",
        "Ask the running daemon how it is doing. --wait shows a progress bar until it is synced.",
    )
    status.add_argument("--wait", action="store_true", help="wait (with a progress bar) until synced")
    status.add_argument("--timeout", type=float, default=3600.0, metavar="S", help="give up after S seconds")
    status.set_defaults(handler=_run_status)

    signature = _group(sub, "signature", "commit oracle signatures to the daemon (admins)")
    commit = signature.add_parser(
        "commit",
        help="commit attestation files (from `attest sign`) to the daemon",
        description=(
            "Send oracle attestation files to the daemon. Each is verified (registered schedule, one of its "
            "milestones, one of its oracles, valid signature) before "
            "anything is recorded; if any is refused, "
            "none is committed. A signature committed before is reported as a duplicate, not recorded twice."
        ),
        epilog=EXIT_CODES,
    )
    commit.add_argument("files", type=Path, nargs="+", metavar="FILE", help="attestation files")
    _json_flag(commit)
    _socket_flag(commit)
    commit.set_defaults(handler=_run_signature_commit)

    milestones = _daemon_parser(
        sub,
        "milestones",
        "milestone state: signatures, quorum, locked/released/reclaimed",
        "Every milestone of the registered schedules with its committed signatures and quorum, and what "
        "is locked, released and reclaimed on it on chain.",
    )
    milestones.add_argument("--schedule-id", metavar="HEX", help="only this schedule")
    milestones.set_defaults(handler=_run_milestones)

    claimable = _daemon_parser(
        sub,
        "claimable",
        "what each beneficiary can claim now, and when the rest unlocks",
        "Every locked allocation with its status at the chain tip (chain time, not your clock).",
    )
    claimable.add_argument("--beneficiary", metavar="ADDR", help="only this beneficiary's allocations")
    claimable.add_argument("--schedule-id", metavar="HEX", help="only this schedule")
    claimable.set_defaults(handler=_run_claimable)

    submissions = _daemon_parser(
        sub,
        "submissions",
        "release transactions the daemon submitted and their outcome",
        "Submitted release transactions: submitted, confirmed, expired or failed.",
    )
    submissions.set_defaults(handler=_run_submissions)

    release = _daemon_parser(
        sub,
        "release",
        "release claimable allocations, paid by the operator wallet (admins)",
        "Build, sign with the daemon's operator wallet (release.wallet_key) and submit release transactions: "
        "the named allocations, a beneficiary's, or every claimable one of the schedule. Each refusal says "
        "which rule failed and when it will pass.",
    )
    _schedule_choice(release)
    release.add_argument(
        "--allocation", action="append", metavar="TXID#IX", help="an allocation to release (repeatable)"
    )
    release.add_argument("--beneficiary", metavar="ADDR", help="every claimable allocation of this address")
    release.add_argument("--dry-run", action="store_true", help="build and show; submit nothing")
    release.add_argument(
        "--no-wait", action="store_true", help="start the release job and return its id (see `jobs watch`)"
    )
    release.set_defaults(handler=_run_release)

    jobs = _daemon_parser(
        sub,
        "jobs",
        "long work in the daemon (releases, registration builds): list, or `jobs watch ID`",
        "Releases and registrations that build transactions run in the daemon as jobs. Without an "
        "action: every job since the daemon started, with transactions built, submitted and confirmed. "
        "`jobs watch ID` follows one with a live progress bar until its transactions are settled; Ctrl-C "
        "only detaches.",
    )
    jobs.set_defaults(handler=_run_jobs)
    job_actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    watch = job_actions.add_parser("watch", help="follow a job with a progress bar", epilog=EXIT_CODES)
    watch.add_argument("job_id", metavar="ID", help="the job id (from `milestonectl jobs`)")
    _json_flag(watch)
    _socket_flag(watch)

    schedules = _daemon_parser(
        sub,
        "schedules",
        "the registered schedules and their ids",
        "Every schedule registered with the daemon: its id (what --schedule-id takes), network, oracles "
        "and quorum, and number of allocations.",
    )
    schedules.set_defaults(handler=_run_schedules)

    reclaim = _daemon_parser(
        sub,
        "reclaim",
        "after the reclaim deadline: take back unreleased allocations (admins)",
        "After the schedule's reclaim deadline (checked against chain time before anything is built), "
        "reclaim every unreleased allocation, or the named ones, back to the admin. With --admin-address "
        "and --unsigned-out the daemon builds the transactions unsigned: sign them with the admin key "
        "(cardano-cli or a hardware wallet) and submit them with `milestonectl tx submit`. Without them "
        "the daemon's operator wallet signs and submits, which only works when it is the schedule's admin.",
    )
    _schedule_choice(reclaim)
    reclaim.add_argument(
        "--allocation", action="append", metavar="TXID#IX", help="an allocation to reclaim (repeatable)"
    )
    reclaim.add_argument("--admin-address", metavar="ADDR", help="the admin's address (pays, receives)")
    reclaim.add_argument(
        "--unsigned-out", type=Path, metavar="DIR", help="write the unsigned transactions into DIR"
    )
    reclaim.add_argument("--dry-run", action="store_true", help="build and show; submit nothing")
    reclaim.set_defaults(handler=_run_reclaim)

    tx = _group(sub, "tx", "sign transactions offline, submit transactions signed elsewhere")
    submit = tx.add_parser(
        "submit",
        help="submit signed transaction envelopes (cardano-cli or hardware wallet) through the daemon",
        description="Submit signed cardano-cli text envelopes (Tx ConwayEra) through the daemon's Ogmios.",
        epilog=EXIT_CODES,
    )
    submit.add_argument(
        "files",
        type=Path,
        nargs="+",
        metavar="FILE|DIR",
        help="signed transaction files, or folders of *.signed.json",
    )
    submit.add_argument(
        "--ogmios",
        metavar="URL",
        help="submit straight to this Ogmios instead of through the daemon (e.g. a beneficiary's claim)",
    )
    _json_flag(submit)
    _socket_flag(submit)
    submit.set_defaults(handler=_run_tx_submit)
    tx_sign = tx.add_parser(
        "sign",
        help="sign unsigned transaction envelopes (files, or folders of *.unsigned.json) with .skey files",
        description="Sign the unsigned transactions that `schedule register --unsigned-out` or `reclaim "
        "--unsigned-out` wrote, offline, with cardano-cli payment signing keys (chmod 600). Each "
        "X.unsigned.json is written as X.signed.json beside it, ready for `milestonectl tx submit`.",
        epilog=EXIT_CODES,
    )
    tx_sign.add_argument(
        "--key",
        type=Path,
        action="append",
        required=True,
        metavar="KEY.skey",
        help="a signing key (repeatable)",
    )
    tx_sign.add_argument("paths", type=Path, nargs="+", metavar="FILE|DIR", help="unsigned transactions")
    _json_flag(tx_sign)
    tx_sign.set_defaults(handler=_run_tx_sign)

    log_group = _group(sub, "log", "audit the event log (auditors)")
    verify = log_group.add_parser(
        "verify",
        help="verify the event log's hash chain",
        description="Check every stored event: positions, canonical records, hashes and the chain linking "
        "them. Any change, removal, insertion or reordering is reported.",
        epilog=EXIT_CODES,
    )
    _json_flag(verify)
    _socket_flag(verify)
    verify.set_defaults(handler=_run_log_verify)
    replay = log_group.add_parser(
        "replay",
        help="replay the log into fresh projections and compare with the live ones",
        description="Rebuild the projections from the event log into a fresh store and byte-compare them "
        "with the daemon's live projections at the same log position.",
        epilog=EXIT_CODES,
    )
    _json_flag(replay)
    _socket_flag(replay)
    replay.set_defaults(handler=_run_log_replay)
    report = log_group.add_parser(
        "report",
        help="write a self-contained HTML report of a replayed event log (no daemon needed)",
        description="Read an event log (read-only), verify its hash chain, replay it into fresh projections "
        "and write the web view's pages of it (schedules, each schedule with its unlock timeline, "
        "milestones and every allocation, the log's activity) as ONE HTML file: inline style, no script, "
        "nothing fetched from elsewhere, for archiving. Exit code 1 when the log does not verify.",
        epilog=EXIT_CODES,
    )
    report.add_argument(
        "--log", required=True, metavar="STORE", help="the daemon's events.db path or store URL"
    )
    report.add_argument("--html", required=True, type=Path, metavar="FILE", help="where to write the report")
    report.add_argument(
        "--network",
        choices=("mainnet", "preprod", "preview", "devnet"),
        help="the log's network (default: the one its schedules name)",
    )
    report.add_argument(
        "--ogmios", metavar="URL", help="a devnet's Ogmios, for its slot clock (devnet logs only)"
    )
    _json_flag(report)
    report.set_defaults(handler=_run_log_report)

    attestations = _group(sub, "attestations", "the public attestations file beneficiaries claim with")
    export = attestations.add_parser(
        "export",
        help="write a schedule and its committed oracle signatures to a file (for `claim`)",
        description="Write the schedule and every oracle signature committed for it to a JSON file. It "
        "holds nothing secret (the same facts are on chain and in the attestations the oracles signed); "
        "beneficiaries need it, and an Ogmios endpoint, to claim with `milestonectl claim` without the "
        "daemon. Any member of the socket group may export.",
        epilog=EXIT_CODES,
    )
    _schedule_choice(export)
    export.add_argument(
        "--out", metavar="FILE", help="where to write ('-' for stdout; default attestations-ID.json)"
    )
    _json_flag(export)
    _socket_flag(export)
    export.set_defaults(handler=_run_attestations_export)

    claim = sub.add_parser(
        "claim",
        help="beneficiaries: release your claimable allocations from your own wallet (no daemon needed)",
        description="Release your claimable allocations yourself, paid from your own wallet, with only "
        "the attestations file (`milestonectl attestations export`, from the schedule's operator) and an "
        "Ogmios endpoint: no daemon, no socket. Lists each of your allocations that is not claimable yet "
        "and why. With --key your wallet's .skey signs and the transactions are submitted; with --address "
        "and --unsigned-out they are written unsigned, for a hardware wallet or cardano-cli, then "
        "`milestonectl tx submit --ogmios URL FILE` submits them.",
        epilog=EXIT_CODES,
    )
    claim.add_argument(
        "--attestations", type=Path, required=True, metavar="FILE", help="the attestations file"
    )
    claim.add_argument("--ogmios", required=True, metavar="URL", help="Ogmios of the schedule's network")
    claim.add_argument("--key", type=Path, metavar="WALLET.skey", help="your wallet's payment signing key")
    claim.add_argument("--address", metavar="ADDR", help="your wallet's address (pays fee and collateral)")
    claim.add_argument(
        "--beneficiary", metavar="ADDR", help="the address the schedule names (default: the paying address)"
    )
    claim.add_argument(
        "--unsigned-out", type=Path, metavar="DIR", help="write unsigned transactions into DIR"
    )
    claim.add_argument(
        "--dry-run", action="store_true", help="show what is claimable and the fee; submit nothing"
    )
    _json_flag(claim)
    claim.set_defaults(handler=_run_claim)

    devnet = _group(sub, "devnet", "rehearsals on the devnet: ADA and test tokens from its faucet")
    devnet_fund = devnet.add_parser(
        "fund",
        help="pay ADA and mint test tokens to an address from the devnet's faucet",
        description="Pay ADA from the devnet's faucet to ADDRESS and mint test tokens (--asset NAME=QTY, "
        "repeatable) under the faucet's policy, in a real transaction; prints the policy id to use as the "
        "rehearsal schedule's token_policy_id. The devnet: --ogmios URL, else the embedded devnet of the "
        "daemon on --socket, else ws://127.0.0.1:1337 (`milestoned devnet`). Only a milestoned devnet "
        "has a faucet.",
        epilog=EXIT_CODES,
    )
    devnet_fund.add_argument("address", metavar="ADDRESS", help="bech32 addr_test1... or a payment key file")
    devnet_fund.add_argument(
        "--lovelace",
        type=int,
        default=10_000_000_000,
        metavar="N",
        help="lovelace to pay (default 10,000 ada)",
    )
    devnet_fund.add_argument(
        "--asset", action="append", metavar="NAME=QTY", help="test tokens to mint (NAME as text, or 0xHEX)"
    )
    devnet_fund.add_argument("--ogmios", metavar="URL", help="the devnet's Ogmios WebSocket URL")
    _json_flag(devnet_fund)
    _socket_flag(devnet_fund)
    devnet_fund.set_defaults(handler=_run_devnet_fund)

    doctor = _daemon_parser(
        sub,
        "doctor",
        "check Ogmios, network magic, node sync, store, socket and key permissions",
        "Check what the daemon depends on and say how to fix each failure. Reads the daemon's config "
        "(--config, else defaults and MILESTONED_* variables).",
    )
    doctor.add_argument("--config", type=Path, metavar="FILE", help="the daemon's TOML configuration")
    doctor.set_defaults(handler=_run_doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milestonectl",
        description=(
            "The milestoned command client. Works offline for admins, oracles and auditors: validate and "
            "show schedule files, sign and verify oracle attestations, check key files. Talks to the running "
            "daemon over its Unix socket: status, schedules, schedule register, "
            "signature commit, milestones, claimable, "
            "release, reclaim, jobs, submissions, tx submit, attestations export, log verify / replay, "
            "doctor, recovery card. Beneficiaries claim without the daemon: claim (an attestations file "
            "and Ogmios). Needs only Ogmios: audit. Rehearsals: devnet fund."
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
    _add_schedule_commands(sub)
    _add_attest_commands(sub)
    _add_keys_commands(sub)
    _add_daemon_commands(sub)
    _add_audit_command(sub)
    from milestoned.commands.recovery_cmd import add_commands as add_recovery_commands

    add_recovery_commands(sub, EXIT_CODES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
