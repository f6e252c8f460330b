"""`milestonectl schedule seed FILE`: write a state seed into a schedule file that has guardians.

WHY: a schedule with guardians names the UTxO its state's creation spends (`state_seed`, issue 15: a
UTxO is spent once, so the state token is unique), and the schedule id depends on it, so it has to be in
the file before the schedule is registered. It must be an unspent output of the wallet that pays the
registration (the admin's). With `--utxo TXID#IX` this writes that one; otherwise it asks the daemon for
the wallet's UTxOs (`wallet.utxos`) and takes the smallest ADA-only one that nothing else is about to
spend and that is not another schedule's seed. Any such UTxO serves: the state's creation spends it and
returns the change to the wallet. The file is rewritten with the field after `guardian_threshold`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from milestoned.commands.cli_shared import EXIT_CODES, json_flag, socket_flag, socket_of
from milestoned.commands.output import CommandError, ExitCode, Output

SEED_FIELD = "state_seed"


def add_seed_command(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "seed",
        help="a schedule with guardians: write its state seed (a UTxO of the admin wallet) into the file",
        description=(
            'Write "state_seed" into a schedule file that has guardians: the UTxO of the wallet paying the '
            "registration (--admin-address) that the creation of the schedule's state spends. The "
            "schedule id depends on it, so do this before registering. Without --utxo, the daemon lists "
            "the wallet's UTxOs and the smallest ADA-only one that is free is taken. Replacing a seed "
            "already in the file needs --force (the schedule id changes)."
        ),
        epilog=EXIT_CODES,
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the schedule file (JSON), rewritten")
    parser.add_argument("--admin-address", metavar="ADDR", help="the wallet that will pay the registration")
    parser.add_argument("--utxo", metavar="TXID#IX", help="use this UTxO (no daemon needed)")
    parser.add_argument("--force", action="store_true", help="replace a state_seed already in the file")
    json_flag(parser)
    socket_flag(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, out: Output) -> int:
    from milestoned.domain.schedule_guardians import GUARDIANS_FIELD, THRESHOLD_FIELD, parse_out_ref
    from milestoned.domain.schedule_json import load_schedule_json
    from milestoned.domain.validation_errors import InputProblem, ScheduleValidationError

    try:
        document = load_schedule_json(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(
            f"cannot read {args.file}: {exc.strerror}", "check the path", ExitCode.USAGE
        ) from None
    except ScheduleValidationError as exc:
        first = exc.errors[0]
        raise CommandError(f"{args.file} {first.message}", first.hint, ExitCode.USAGE) from None
    if not isinstance(document, dict) or GUARDIANS_FIELD not in document:
        raise CommandError(
            f'{args.file} has no "{GUARDIANS_FIELD}": only a schedule with guardians has a state seed',
            f'add "{GUARDIANS_FIELD}" and "{THRESHOLD_FIELD}" first (docs/schedule-format.md)',
            ExitCode.USAGE,
        )
    old = document.get(SEED_FIELD)
    if old is not None and not args.force:
        raise CommandError(
            f'{args.file} already names "{SEED_FIELD}": {old}',
            "pass --force to replace it (the schedule id changes; never for a schedule already registered)",
            ExitCode.USAGE,
        )
    if args.utxo:
        try:
            bytes_id, index = parse_out_ref(args.utxo)
        except InputProblem as problem:
            raise CommandError(f"--utxo {problem.problem}", problem.hint, ExitCode.USAGE) from None
        seed = f"{bytes_id.hex()}#{index}"
    elif args.admin_address:
        seed = _pick(socket_of(args), args.admin_address, out)
    else:
        raise CommandError(
            "say which wallet pays the registration, or which UTxO to use",
            "add --admin-address ADDR (the daemon lists its UTxOs) or --utxo TXID#IX",
            ExitCode.USAGE,
        )
    args.file.write_text(json.dumps(_with_seed(document, seed), indent=2, ensure_ascii=False) + "\n")
    if out.json_mode:
        out.emit_json({"ok": True, "result": {"file": str(args.file), SEED_FIELD: seed, "replaced": old}})
    else:
        out.line(f'{args.file}: "{SEED_FIELD}": "{seed}"' + (f" (was {old})" if old else ""))
        out.line(
            "keep this UTxO in the wallet until the schedule is registered: its registration spends it "
            "first, to create the schedule's state"
        )
    return ExitCode.OK


def _pick(socket: Path, address: str, out: Output) -> str:
    from milestoned.commands.socket_client import call

    rows = call(socket, "wallet.utxos", {"address": address})["utxos"]
    free = [r for r in rows if not r["state_seed_of_another_schedule"] and not r["being_spent"]]
    plain = [r for r in free if r["plain"]]
    if not (plain or free):
        raise CommandError(
            f"the wallet {address} has no UTxO free to serve as a state seed ({len(rows)} held, each "
            "another schedule's seed or being spent)",
            "send a little ADA to it (a new UTxO) and run this again, or wait for its pending transactions",
            ExitCode.FAILED,
        )
    chosen: dict[str, Any] = min(plain or free, key=lambda r: (r["lovelace"], r["utxo"]))
    if len(rows) == 1:
        out.line(
            f"note: {chosen['utxo']} is the wallet's only UTxO; the first registration of a network also "
            "deploys reference scripts (about 65 ADA), which the seed cannot pay: send ADA to the wallet as "
            "a separate output before registering",
            style="yellow",
        )
    return str(chosen["utxo"])


def _with_seed(document: dict[str, Any], seed: str) -> dict[str, Any]:
    """`document` with the seed right after the guardian fields (or replacing the old one in place)."""
    if SEED_FIELD in document:
        return {key: (seed if key == SEED_FIELD else value) for key, value in document.items()}
    result: dict[str, Any] = {}
    anchor = "guardian_threshold" if "guardian_threshold" in document else "guardians"
    for key, value in document.items():
        result[key] = value
        if key == anchor:
            result[SEED_FIELD] = seed
    return result
