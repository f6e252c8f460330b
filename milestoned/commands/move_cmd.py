"""`milestonectl allocation move`: a beneficiary moves still-locked allocations to a new address.

WHY: a beneficiary whose wallet is compromised or replaced must be able to take what is still locked
with them, before it vests, without the operator. The allocation validator lets the beneficiary's
payment key re-lock an allocation for a new beneficiary (same amount, milestone, vesting time and
schedule, same auth token). Like `milestonectl claim`, this needs no daemon: only the beneficiary's
key and any Ogmios endpoint of the network (the validator is one script for every schedule, so no
schedule file is needed either). It:
1. checks the new address (a payment address of the same network that a wallet can spend from), the
   key against each chosen allocation's beneficiary (a script beneficiary cannot sign: refused);
2. lists the chosen allocations still locked on chain (all of the key's, or those of a schedule, a
   milestone, or named out-refs);
3. builds the move paid from the wallet (fee and collateral), and signs it with the `.skey` and submits
   it, or writes it unsigned (`--unsigned-out`) for a hardware wallet; `milestonectl tx sign` /
   `tx submit --ogmios URL FILE` finish the job.
The daemon sees the move on chain (`AllocationReassigned`) and follows the allocation: its later
release pays the new address.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, CommandError, ExitCode, Output


@dataclass(frozen=True)
class MoveRequest:
    ogmios_url: str
    to: str
    key: Path | None
    beneficiary: str | None
    address: str | None
    schedule_id: str | None
    milestone: str | None
    allocations: tuple[str, ...]
    everything: bool
    unsigned_out: Path | None
    dry_run: bool


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    from milestoned.commands.cli_shared import group, json_flag

    actions = group(sub, "allocation", "beneficiaries: move your still-locked allocations (no daemon)")
    move = actions.add_parser(
        "move",
        help="move your still-locked allocations to a new address (e.g. a replaced or compromised wallet)",
        description="Re-lock allocations that are still locked for a new beneficiary address: same amount, "
        "milestone, vesting time and schedule; only the beneficiary changes. Your payment key signs (an "
        "allocation whose beneficiary address has a script payment credential cannot be moved). Needs only "
        "an Ogmios endpoint of the network: no daemon, no schedule file. Choose the allocations with --all "
        "(every one of your key's), --schedule-id, --milestone and/or --allocation. With --key your .skey "
        "signs and the transaction is submitted; with --beneficiary ADDR and --unsigned-out DIR it is "
        "written unsigned (hardware wallet, cardano-cli), then `milestonectl tx sign` and "
        "`milestonectl tx submit --ogmios URL FILE`. Your wallet pays the fee and the collateral (a few "
        "ADA; a move whose inputs sort before a moved allocation returns about 1 ADA to you per such input "
        "in an output of its own). The daemon follows the allocation: its release pays the new address.",
        epilog=epilog,
    )
    move.add_argument("--to", required=True, metavar="ADDR", help="the new beneficiary's payment address")
    move.add_argument("--ogmios", required=True, metavar="URL", help="Ogmios of the schedule's network")
    move.add_argument(
        "--key", type=Path, metavar="PAYMENT.skey", help="the beneficiary address' payment signing key"
    )
    move.add_argument(
        "--beneficiary",
        metavar="ADDR",
        help="the address the allocations name now (default: every address of --key's payment key)",
    )
    move.add_argument(
        "--address", metavar="ADDR", help="the wallet that pays fee and collateral (default: the key's)"
    )
    move.add_argument("--schedule-id", metavar="HEX", help="only allocations of this schedule")
    move.add_argument("--milestone", metavar="NAME", help="only allocations of this milestone")
    move.add_argument(
        "--allocation", action="append", default=[], metavar="TXID#IX", help="this allocation (repeatable)"
    )
    move.add_argument("--all", action="store_true", help="every still-locked allocation of the beneficiary")
    move.add_argument("--unsigned-out", type=Path, metavar="DIR", help="write unsigned transactions into DIR")
    move.add_argument("--dry-run", action="store_true", help="build and show; sign and submit nothing")
    json_flag(move)
    move.set_defaults(handler=run_move)


def run_move(args: argparse.Namespace, out: Output) -> int:
    request = MoveRequest(
        ogmios_url=args.ogmios,
        to=args.to,
        key=args.key,
        beneficiary=args.beneficiary,
        address=args.address,
        schedule_id=args.schedule_id,
        milestone=args.milestone,
        allocations=tuple(args.allocation),
        everything=args.all,
        unsigned_out=args.unsigned_out,
        dry_run=args.dry_run,
    )
    return move(request, out)


def move(request: MoveRequest, out: Output) -> int:
    if request.key is None and request.beneficiary is None:
        raise CommandError(
            "say whose allocations move: --key PAYMENT.skey (sign and submit here), or --beneficiary ADDR "
            "with --unsigned-out DIR (sign elsewhere, e.g. a hardware wallet)",
            "see milestonectl allocation move --help",
        )
    from milestoned.commands.claim_cmd import require_signer

    require_signer(request.key, request.unsigned_out, request.dry_run)
    if request.schedule_id is not None and not re.fullmatch(r"[0-9a-fA-F]{56}", request.schedule_id):
        raise CommandError(
            f"--schedule-id {request.schedule_id!r} is not a schedule id (56 hex digits, its policy id)",
            "copy it from `milestonectl schedules` or the attestations file",
        )
    if not (request.everything or request.schedule_id or request.milestone or request.allocations):
        raise CommandError(
            "say which allocations move: --all, or --schedule-id HEX, --milestone NAME, --allocation TXID#IX",
            "`milestonectl claimable --beneficiary ADDR` (daemon) or --dry-run --all lists them",
        )
    return asyncio.run(_move(request, out))


@dataclass(frozen=True)
class _Who:
    network: Any
    new_beneficiary: Any
    key: Any
    key_hash: bytes | None
    beneficiary: str | None
    payer: str


def _who(request: MoveRequest) -> _Who:
    """The addresses and the key, each checked, with an error that names the flag."""
    from pycardano import Address, ScriptHash

    from milestoned.domain.addresses import canonical_address, parse_payment_address
    from milestoned.domain.network import CardanoNetwork
    from milestoned.domain.validation_errors import InputProblem
    from milestoned.txbuilder.errors import SigningError
    from milestoned.txbuilder.signing import key_hash, load_signing_key

    def address(flag: str, text: str, network: Any) -> Any:
        try:
            return parse_payment_address(text, network)
        except InputProblem as exc:
            raise CommandError(f"{flag}: {exc.problem}", exc.hint) from None

    new_beneficiary = address("--to", request.to, None)
    network = CardanoNetwork.MAINNET if new_beneficiary.network.value == 1 else CardanoNetwork.PREPROD
    key = None
    hashed = None
    if request.key is not None:
        try:
            key = load_signing_key(request.key)
        except SigningError as exc:
            raise CommandError(str(exc), "pass the beneficiary address' payment .skey (chmod 600)") from None
        hashed = key_hash(key).payload
    beneficiary = None
    if request.beneficiary is not None:
        parsed = address("--beneficiary", request.beneficiary, network)
        beneficiary = canonical_address(parsed)
        if isinstance(parsed.payment_part, ScriptHash):
            raise CommandError(
                f"cannot sign a move for {beneficiary}: its payment credential is a script, and only a "
                "payment key's signature moves an allocation",
                "such allocations cannot be moved; they are still released to that address",
            )
        if hashed is not None and parsed.payment_part.payload != hashed:
            raise CommandError(
                f"wrong key: {request.key} is not the payment key of {beneficiary} (key hash "
                f"{hashed.hex()}, the address' is {parsed.payment_part.payload.hex()})",
                "pass the .skey of the beneficiary address' payment key",
            )
    if request.address is not None:
        payer = canonical_address(address("--address", request.address, network))
    elif key is not None:
        payer = str(Address(key_hash(key), network=network.pycardano_network))
    else:
        payer = str(beneficiary)
    return _Who(network, new_beneficiary, key, hashed, beneficiary, payer)


def _chosen(request: MoveRequest, who: _Who, locked: list[Any]) -> list[Any]:
    """The still-locked allocations the request names, each checked against the key."""
    from milestoned.txbuilder.errors import Refusal
    from milestoned.txbuilder.move import beneficiary_key_hash

    def belongs(allocation: Any) -> bool:
        if who.beneficiary is not None:
            return bool(allocation.beneficiary == who.beneficiary)
        credential = allocation.datum.beneficiary.payment_credential
        return bytes(credential.credential_hash) == who.key_hash

    by_reference = {a.reference: a for a in locked}
    for reference in request.allocations:
        allocation = by_reference.get(reference)
        if allocation is None:
            raise CommandError(
                f"allocation {reference} is not locked at the validator: released, reclaimed or moved "
                "already, or not an allocation (check the reference)",
                "--dry-run --all lists your still-locked allocations",
                ExitCode.FAILED,
            )
        try:
            signer = beneficiary_key_hash(allocation)
        except Refusal as exc:
            raise CommandError(str(exc), "choose allocations of a key-locked beneficiary address") from None
        if not belongs(allocation):
            known = f"key hash {who.key_hash.hex()}" if who.key_hash is not None else who.beneficiary
            raise CommandError(
                f"wrong key: allocation {reference} belongs to {allocation.beneficiary} (payment key hash "
                f"{signer.hex()}), not to {known}",
                "pass the .skey (or --beneficiary) of the address that allocation names",
            )
    milestone = request.milestone
    return [
        a
        for a in locked
        if belongs(a)
        and (not request.allocations or a.reference in request.allocations)
        and (request.schedule_id is None or a.datum.schedule_id.hex() == request.schedule_id.lower())
        and (
            milestone is None
            or a.datum.milestone_id == milestone.encode()
            or a.datum.milestone_id.hex() == milestone.lower()
        )
    ]


async def _move(request: MoveRequest, out: Output) -> int:
    from milestoned.commands.claim_cmd import _connect

    who = _who(request)
    chain, client = await _connect(request.ogmios_url, who.network)
    try:
        return await _move_on_chain(request, who, chain, out)
    finally:
        await client.close()


async def _move_on_chain(request: MoveRequest, who: _Who, chain: Any, out: Output) -> int:
    from milestoned.commands.claim_cmd import sign_or_write
    from milestoned.domain.addresses import canonical_address
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.move import build_move, movable_allocations

    try:
        chosen = _chosen(request, who, await movable_allocations(chain, who.network))
    except TxBuildError as exc:
        raise CommandError(str(exc), "is Ogmios on the schedule's network?", ExitCode.FAILED) from None
    whose = who.beneficiary or f"payment key hash {who.key_hash.hex() if who.key_hash else ''}"
    if not chosen:
        network = "mainnet" if who.network.is_mainnet else "a testnet"
        raise CommandError(
            f"nothing to move: no still-locked allocation of {whose} matches"
            + "".join(
                f" {flag} {value}"
                for flag, value in (
                    ("--schedule-id", request.schedule_id),
                    ("--milestone", request.milestone),
                )
                if value
            ),
            "released or reclaimed allocations cannot move; check the key (or --beneficiary), the filters, "
            f"and that Ogmios serves the network of --to ({network})",
            ExitCode.FAILED,
        )
    try:
        txs = await build_move(chain, chosen, who.new_beneficiary, who.payer)
    except TxBuildError as exc:
        raise CommandError(str(exc), "nothing was submitted", ExitCode.FAILED) from None
    report: dict[str, Any] = {
        "beneficiary": whose,
        "to": canonical_address(who.new_beneficiary),
        "payer": who.payer,
        "moves": [m for built in txs for m in built.details["moves"]],
        "transactions": [built.to_json() for built in txs],
        "total_fee_lovelace": sum(built.fee for built in txs),
    }
    await sign_or_write(
        chain, txs, who.key, request.unsigned_out, request.dry_run, "move", report, "the move again"
    )
    if out.json_mode:
        out.emit_json({"ok": True, "result": report})
        return ExitCode.OK
    _show(request, out, report)
    return ExitCode.OK


def _show(request: MoveRequest, out: Output, report: dict[str, Any]) -> None:
    from milestoned.commands.claim_cmd import show_signed_or_written

    out.table(
        f"{len(report['moves'])} allocation(s) of {report['beneficiary']} move to {report['to']}",
        (Column("allocation", no_wrap=True), Column("schedule"), Column("amount"), Column("new allocation")),
        [
            (m["allocation"], m["schedule_id"][:12], str(m["amount"]), m["new_allocation"])
            for m in report["moves"]
        ],
    )
    out.line(
        f"{len(report['transactions'])} move transaction(s), fee {report['total_fee_lovelace']} lovelace "
        f"paid by {report['payer']}"
    )
    show_signed_or_written(
        out,
        report,
        request.unsigned_out,
        request.dry_run,
        "the beneficiary's payment key (and the paying wallet's, if another) and submit them with "
        f"`milestonectl tx submit --ogmios {request.ogmios_url} FILE...`",
    )
