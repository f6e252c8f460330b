"""`milestonectl schedule pause|resume SCHEDULE`: the guardians stop or restart a schedule's releases.

WHY this shape: a guardian's key never leaves the guardian. The daemon builds the `SetPaused`
transaction (it knows the schedule and reads the chain), naming the guardians who will sign as
required signers; this command signs it HERE with the guardians' `.skey` files given with `--key` and
submits it through the daemon (`tx.submit`). Guardians who are not in one place use `--unsigned-out
DIR` with `--guardian KEYHASH` for each signer: each then adds their signature in turn (`milestonectl
tx sign --key G.skey FILE`, the first one on the `.unsigned.json`, the next ones on the `.signed.json`,
which keeps the signatures already in it), and anyone submits it (`milestonectl tx submit FILE`).

The fee and collateral are paid by `--payer-key` or `--payer-address`, by default by the first guardian's
key address (it must hold a few ADA). A key that is not one of the schedule's guardians is refused by the
daemon, naming the key and listing the guardians.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from milestoned.commands.cli_shared import EXIT_CODES, json_flag, socket_flag, socket_of
from milestoned.commands.output import CommandError, ExitCode, Output


def add_pause_commands(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`schedule pause` and `schedule resume` (same options)."""
    for name, verb in (("pause", "stop"), ("resume", "restart")):
        parser = actions.add_parser(
            name,
            help=f"guardians: {verb} the releases of a schedule with guardians",
            description=(
                f"{verb.capitalize()} every release of a schedule registered with guardians: the daemon "
                "builds the transaction that flips its state UTxO, the guardians' keys (--key, at least "
                "the schedule's guardian threshold of them) sign it here and it is submitted through the "
                "daemon. With --unsigned-out DIR (and --guardian KEYHASH for each guardian who will sign, "
                "--payer-address ADDR) it is written unsigned instead: each guardian adds a signature "
                "with `milestonectl tx sign --key G.skey FILE` and `milestonectl tx submit FILE` sends "
                "it. Reclaim and cancellation are never blocked by a pause."
            ),
            epilog=EXIT_CODES,
        )
        parser.add_argument("schedule", metavar="SCHEDULE", help="the schedule id, or its schedule file")
        parser.add_argument(
            "--key", type=Path, action="append", default=[], metavar="SKEY", help="a guardian's .skey"
        )
        parser.add_argument(
            "--guardian",
            action="append",
            default=[],
            metavar="KEYHASH",
            help="with --unsigned-out: a guardian who will sign (payment key hash, repeatable)",
        )
        parser.add_argument("--payer-key", type=Path, metavar="SKEY", help="the wallet paying the fee")
        parser.add_argument("--payer-address", metavar="ADDR", help="the address paying the fee")
        parser.add_argument("--unsigned-out", type=Path, metavar="DIR", help="write it unsigned into DIR")
        json_flag(parser)
        socket_flag(parser)
        parser.set_defaults(handler=_run, paused=name == "pause")


def _run(args: argparse.Namespace, out: Output) -> int:
    return set_paused(
        socket_of(args),
        args.schedule,
        args.paused,
        keys=args.key,
        guardians=args.guardian,
        payer_key=args.payer_key,
        payer_address=args.payer_address,
        unsigned_out=args.unsigned_out,
        out=out,
    )


def set_paused(
    socket: Path,
    schedule: str,
    paused: bool,
    *,
    keys: list[Path],
    guardians: list[str],
    payer_key: Path | None,
    payer_address: str | None,
    unsigned_out: Path | None,
    out: Output,
) -> int:
    from pycardano import Address, Transaction

    from milestoned.commands.schedule_choice import chosen_schedule_id
    from milestoned.commands.socket_client import call
    from milestoned.txbuilder.errors import SigningError
    from milestoned.txbuilder.signing import key_hash, load_signing_key, sign, signed_envelope

    if not keys and not guardians:
        raise CommandError(
            "say which guardians sign: --key GUARDIAN.skey (sign here), or --guardian KEYHASH with "
            "--unsigned-out DIR (they sign elsewhere)",
            f"see milestonectl schedule {'pause' if paused else 'resume'} --help",
        )
    if unsigned_out is None and guardians:
        raise CommandError("--guardian goes with --unsigned-out", "give the guardians' keys with --key")
    try:
        loaded = [load_signing_key(path) for path in keys]
        payer_signing = load_signing_key(payer_key) if payer_key is not None else None
    except SigningError as exc:
        raise CommandError(str(exc), "pass the guardian's cardano-cli .skey (chmod 600)") from None
    signers = list(dict.fromkeys([key_hash(k).payload.hex() for k in loaded] + _hashes(guardians)))
    by_path = Path(schedule)
    is_file = by_path.suffix == ".json" or by_path.exists()
    schedule_id = chosen_schedule_id(socket, None if is_file else schedule, by_path if is_file else None)
    rows: list[dict[str, Any]] = call(socket, "schedules")
    network = next((str(r["network"]) for r in rows if r["schedule_id"] == schedule_id), None)
    if network is None:
        raise CommandError(
            f"schedule {schedule_id} is not registered with this daemon",
            "`milestonectl schedules` lists the registered ones",
            ExitCode.FAILED,
        )
    from milestoned.contracts.loader import network_of

    if payer_address is None:
        payer_from = payer_signing or (loaded[0] if loaded else None)
        if payer_from is None:
            raise CommandError("say who pays the fee: --payer-address ADDR", "it needs a few ADA")
        payer_address = str(Address(key_hash(payer_from), network=network_of(network)))
    result = call(
        socket,
        "schedule.pause",
        {"schedule_id": schedule_id, "paused": paused, "payer_address": payer_address, "signers": signers},
    )
    action = "pause" if paused else "resume"
    report: dict[str, Any] = {key: result[key] for key in ("schedule_id", "paused", "tx_id", "fee_lovelace")}
    report["signers"] = signers
    if unsigned_out is not None:
        unsigned_out.mkdir(parents=True, exist_ok=True)
        target = unsigned_out / f"{action}.unsigned.json"
        target.write_text(json.dumps(result["unsigned"], indent=2) + "\n")
        report["written"] = str(target)
    else:
        tx = Transaction.from_cbor(bytes.fromhex(result["unsigned"]["cborHex"]))
        signed = sign(tx, [*loaded, *([payer_signing] if payer_signing is not None else [])])
        envelope = signed_envelope(signed, f"milestoned {action}")
        answer = call(socket, "tx.submit", {"transactions": [envelope]})
        report["submitted"] = answer["submitted"] + answer.get("already_submitted", [])
    if out.json_mode:
        out.emit_json({"ok": True, "result": report})
        return ExitCode.OK
    if "written" in report:
        out.line(
            f"the {action} of schedule {schedule_id} written to {report['written']} (unsigned). Each "
            f"guardian ({', '.join(signers)}) signs it in turn: `milestonectl tx sign --key G.skey FILE` "
            "(the next ones on the .signed.json); the payer signs too; then "
            "`milestonectl tx submit FILE.signed.json`"
        )
    else:
        out.line(
            f"schedule {schedule_id}: {action} submitted in {report['tx_id']} (fee {report['fee_lovelace']} "
            f"lovelace); releases are {'refused' if paused else 'allowed again'} once it is in a block",
            style="green",
        )
    return ExitCode.OK


def _hashes(values: list[str]) -> list[str]:
    import re

    for value in values:
        if not re.fullmatch(r"[0-9a-fA-F]{56}", value):
            raise CommandError(
                f"--guardian {value!r} is not a payment key hash (56 hex digits)",
                "cardano-cli address key-hash --payment-verification-key-file guardian.vkey",
            )
    return [value.lower() for value in values]
