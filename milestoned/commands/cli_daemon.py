"""`milestonectl` sub-commands that talk to the daemon over its socket, and `audit`, `claim`, `devnet`.

Each handler imports its command module when it runs, so `--help` and unrelated commands stay fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from milestoned.commands.cli_shared import (
    EXIT_CODES,
    SubParsers,
    daemon_parser,
    group,
    json_flag,
    socket_flag,
    socket_of,
)
from milestoned.commands.output import Output


def add_commands(sub: SubParsers) -> None:
    _add_daemon_commands(sub)
    _add_audit_command(sub)


def _run_status(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.status(socket_of(args), out, wait=args.wait, wait_timeout_s=args.timeout)


def _run_signature_commit(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.signature_commit(socket_of(args), args.files, out)


def _run_milestones(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.milestones(socket_of(args), args.schedule_id, out)


def _run_claimable(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.claimable(socket_of(args), args.beneficiary, args.schedule_id, out)


def _run_submissions(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.submissions(socket_of(args), out)


def _run_release(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = socket_of(args)
    schedule_id = chosen_schedule_id(socket, args.schedule_id, args.schedule)
    return daemon_cmd.release(
        socket, schedule_id, args.allocation or [], args.beneficiary, args.dry_run, out, wait=not args.no_wait
    )


def _run_jobs(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import jobs_cmd

    if getattr(args, "jobs_command", None) == "watch":
        return jobs_cmd.watch_command(socket_of(args), args.job_id, out)
    return jobs_cmd.list_jobs(socket_of(args), out)


def _run_schedules(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.schedule_choice import schedules

    return schedules(socket_of(args), out)


def _run_reclaim(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.reclaim_cmd import reclaim
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = socket_of(args)
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
    from milestoned.commands import tx_submit_cmd

    return tx_submit_cmd.tx_submit(socket_of(args), files, out)


def _run_attestations_export(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands.claim_cmd import export
    from milestoned.commands.schedule_choice import chosen_schedule_id

    socket = socket_of(args)
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

    url = devnet_url(args.ogmios, socket_of(args))
    return fund(url, args.address, args.lovelace, args.asset or [], out)


def _run_log_verify(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.log_verify(socket_of(args), out)


def _run_log_replay(args: argparse.Namespace, out: Output) -> int:
    from milestoned.commands import daemon_cmd

    return daemon_cmd.log_replay(socket_of(args), out)


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
    json_flag(audit)
    audit.set_defaults(handler=_run_audit)


def _add_daemon_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = daemon_parser(
        sub,
        "status",
        "the daemon's sync state, tips, lag, event log head and projection position",
        "Ask the running daemon how it is doing. --wait shows a progress bar until it is synced.",
    )
    status.add_argument("--wait", action="store_true", help="wait (with a progress bar) until synced")
    status.add_argument("--timeout", type=float, default=3600.0, metavar="S", help="give up after S seconds")
    status.set_defaults(handler=_run_status)

    signature = group(sub, "signature", "commit oracle signatures to the daemon (admins)")
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
    json_flag(commit)
    socket_flag(commit)
    commit.set_defaults(handler=_run_signature_commit)

    milestones = daemon_parser(
        sub,
        "milestones",
        "milestone state: signatures, quorum, locked/released/reclaimed",
        "Every milestone of the registered schedules with its committed signatures and quorum, and what "
        "is locked, released and reclaimed on it on chain.",
    )
    milestones.add_argument("--schedule-id", metavar="HEX", help="only this schedule")
    milestones.set_defaults(handler=_run_milestones)

    claimable = daemon_parser(
        sub,
        "claimable",
        "what each beneficiary can claim now, and when the rest unlocks",
        "Every locked allocation with its status at the chain tip (chain time, not your clock).",
    )
    claimable.add_argument("--beneficiary", metavar="ADDR", help="only this beneficiary's allocations")
    claimable.add_argument("--schedule-id", metavar="HEX", help="only this schedule")
    claimable.set_defaults(handler=_run_claimable)

    submissions = daemon_parser(
        sub,
        "submissions",
        "release transactions the daemon submitted and their outcome",
        "Submitted release transactions: submitted, confirmed, expired or failed.",
    )
    submissions.set_defaults(handler=_run_submissions)

    release = daemon_parser(
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

    jobs = daemon_parser(
        sub,
        "jobs",
        "long work in the daemon (releases, registration builds): list, or `jobs watch ID`",
        "Releases and registrations that build transactions run in the daemon as jobs. Without an "
        "action: the jobs the daemon keeps (those running and the latest finished, until it restarts), "
        "with transactions built, submitted and confirmed. "
        "`jobs watch ID` follows one with a live progress bar until its transactions are settled; Ctrl-C "
        "only detaches.",
    )
    jobs.set_defaults(handler=_run_jobs)
    job_actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    watch = job_actions.add_parser("watch", help="follow a job with a progress bar", epilog=EXIT_CODES)
    watch.add_argument("job_id", metavar="ID", help="the job id (from `milestonectl jobs`)")
    json_flag(watch)
    socket_flag(watch)

    schedules = daemon_parser(
        sub,
        "schedules",
        "the registered schedules and their ids",
        "Every schedule registered with the daemon: its id (what --schedule-id takes), network, oracles "
        "and quorum, and number of allocations.",
    )
    schedules.set_defaults(handler=_run_schedules)

    reclaim = daemon_parser(
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

    tx = group(sub, "tx", "sign transactions offline, submit transactions signed elsewhere")
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
    json_flag(submit)
    socket_flag(submit)
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
    json_flag(tx_sign)
    tx_sign.set_defaults(handler=_run_tx_sign)

    log_group = group(sub, "log", "audit the event log (auditors)")
    verify = log_group.add_parser(
        "verify",
        help="verify the event log's hash chain",
        description="Check every stored event: positions, canonical records, hashes and the chain linking "
        "them. Any change, removal, insertion or reordering is reported.",
        epilog=EXIT_CODES,
    )
    json_flag(verify)
    socket_flag(verify)
    verify.set_defaults(handler=_run_log_verify)
    replay = log_group.add_parser(
        "replay",
        help="replay the log into fresh projections and compare with the live ones",
        description="Rebuild the projections from the event log into a fresh store and byte-compare them "
        "with the daemon's live projections at the same log position.",
        epilog=EXIT_CODES,
    )
    json_flag(replay)
    socket_flag(replay)
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
    json_flag(report)
    report.set_defaults(handler=_run_log_report)

    attestations = group(sub, "attestations", "the public attestations file beneficiaries claim with")
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
    json_flag(export)
    socket_flag(export)
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
    json_flag(claim)
    claim.set_defaults(handler=_run_claim)

    devnet = group(sub, "devnet", "rehearsals on the devnet: ADA and test tokens from its faucet")
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
    json_flag(devnet_fund)
    socket_flag(devnet_fund)
    devnet_fund.set_defaults(handler=_run_devnet_fund)

    doctor = daemon_parser(
        sub,
        "doctor",
        "check Ogmios, network magic, node sync, store, socket and key permissions",
        "Check what the daemon depends on and say how to fix each failure. Reads the daemon's config "
        "(--config, else defaults and MILESTONED_* variables).",
    )
    doctor.add_argument("--config", type=Path, metavar="FILE", help="the daemon's TOML configuration")
    doctor.set_defaults(handler=_run_doctor)
