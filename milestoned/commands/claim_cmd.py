"""`milestonectl claim` and `milestonectl attestations export`: beneficiaries release their own allocations.

WHY: the scripts let anyone submit a release (the tokens can only go to the beneficiary named in each
allocation's datum), so a beneficiary does not need the operator, a shell on the daemon's host or the
socket. What they need is public: the attestations file (the schedule and its committed oracle
signatures, exported by anyone in the daemon's socket group, and safe to publish) and any Ogmios
endpoint of the schedule's network. `claim` then:
1. reads and checks the file offline (the schedule has the id it claims; every signature verifies);
2. refuses at once while the schedule's guardians have paused it (issue 15: the release would read the
   paused state UTxO and fail), then lists the beneficiary's allocations still locked on chain, and
   for each one that cannot be claimed now, the rule that refuses it and when it will pass;
3. builds the release of the claimable ones paid from the beneficiary's own wallet (fee and
   collateral), and either signs it with the wallet's `.skey` and submits it through Ogmios, or writes
   it unsigned (`--unsigned-out`) for a hardware wallet or cardano-cli; `milestonectl tx submit
   --ogmios URL FILE` then submits the signed file, still without the daemon.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, CommandError, ExitCode, Output
from milestoned.commands.textfiles import read_text

MAX_EXPORT_BYTES = 64 * 1024 * 1024


# --- export (talks to the daemon) -------------------------------------------------------------------------


def export(socket: Path, schedule_id: str, target: str | None, out: Output) -> int:
    from milestoned.commands.socket_client import call

    document = call(socket, "attestations", {"schedule_id": schedule_id})
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if target == "-":
        import sys

        sys.stdout.write(text)
        return ExitCode.OK
    path = Path(target or f"attestations-{schedule_id[:12]}.json")
    path.write_text(text)
    count = len(document["attestations"])
    if out.json_mode:
        out.emit_json({"ok": True, "file": str(path), "schedule_id": schedule_id, "attestations": count})
    else:
        out.line(
            f"wrote {path}: schedule {schedule_id} with {count} committed attestation(s). It holds nothing "
            "secret; give it to the beneficiaries (`milestonectl claim --attestations FILE`)."
        )
    return ExitCode.OK


# --- claim (no daemon) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRequest:
    attestations: Path
    ogmios_url: str
    key: Path | None
    address: str | None
    beneficiary: str | None
    unsigned_out: Path | None
    dry_run: bool


def claim(request: ClaimRequest, out: Output) -> int:
    from milestoned.commands.attestations_export import read_export

    export_file = read_export(
        read_text(request.attestations, "attestations file", MAX_EXPORT_BYTES), str(request.attestations)
    )
    if request.key is None and request.address is None:
        raise CommandError(
            "say whose wallet pays: --key WALLET.skey (sign and submit here), or --address ADDR with "
            "--unsigned-out DIR (sign elsewhere, e.g. a hardware wallet)",
            "see milestonectl claim --help",
        )
    require_signer(request.key, request.unsigned_out, request.dry_run)
    return asyncio.run(_claim(request, export_file, out))


async def _claim(request: ClaimRequest, export_file: Any, out: Output) -> int:
    from pycardano import Address

    from milestoned.domain.addresses import canonical_address, parse_payment_address
    from milestoned.domain.validation_errors import InputProblem
    from milestoned.txbuilder.errors import SigningError

    definition = export_file.definition
    network = definition.network
    key: Any = None
    from milestoned.txbuilder.signing import key_hash, load_signing_key

    if request.key is not None:
        try:
            key = load_signing_key(request.key)
        except SigningError as exc:
            raise CommandError(str(exc), "pass your wallet's payment .skey (chmod 600)") from None
    try:
        payer = (
            canonical_address(parse_payment_address(request.address, network))
            if request.address
            else str(Address(key_hash(key), network=network.pycardano_network))
        )
        beneficiary = (
            canonical_address(parse_payment_address(request.beneficiary, network))
            if request.beneficiary
            else payer
        )
    except InputProblem as exc:
        raise CommandError(f"address: {exc.problem}", exc.hint) from None
    # an allocation moved to this address (issue 15) is on chain only: the definition may name none
    ours = [a for a in definition.allocations if a.beneficiary_address == beneficiary]
    chain, client = await _connect(request.ogmios_url, network)
    try:
        return await _claim_on_chain(request, export_file, chain, key, payer, beneficiary, len(ours), out)
    finally:
        await client.close()


async def _connect(url: str, network: Any) -> tuple[Any, Any]:
    from milestoned.ogmios.client import OgmiosClient
    from milestoned.txbuilder.chain_context import OgmiosChain

    try:
        client = await OgmiosClient.connect(url, max_frame_bytes=None)
    except Exception as exc:
        raise CommandError(
            f"cannot reach Ogmios at {url}: {exc}",
            f"pass --ogmios ws://HOST:PORT of an Ogmios on {network.value}",
        ) from None
    return OgmiosChain(client, network), client


async def _claim_on_chain(
    request: ClaimRequest,
    export_file: Any,
    chain: Any,
    key: Any,
    payer: str,
    beneficiary: str,
    allocated: int,
    out: Output,
) -> int:
    from milestoned.domain.timestamps import format_timestamp
    from milestoned.txbuilder.allocations import locked_allocations
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.release import build_release, schedule_on_chain
    from milestoned.txbuilder.release_checks import check_release
    from milestoned.txbuilder.schedule_state import refuse_while_paused

    definition, signatures = export_file.definition, export_file.signatures
    try:
        on_chain = await schedule_on_chain(chain, definition)
        schedule_id = on_chain.scripts.schedule_id
        locked = await locked_allocations(chain, schedule_id, on_chain.validator_address)
        now_ms = (await chain.chain_time()).now_ms
    except TxBuildError as exc:
        raise CommandError(str(exc), "is the schedule registered on this network?", ExitCode.FAILED) from None
    try:  # a schedule with guardians: refused at once while paused (issue 15), not by a failing script
        refuse_while_paused(definition, on_chain.state, schedule_id)
    except TxBuildError as exc:
        raise CommandError(
            str(exc), "nothing was built; claim again once the guardians resumed it", ExitCode.FAILED
        ) from None
    mine = [a.reference for a in locked if a.beneficiary == beneficiary]
    if not allocated and not mine:
        raise CommandError(
            f"schedule {export_file.schedule_id} allocates nothing to {beneficiary}, and no allocation "
            "was moved to it",
            "pass the address named in the schedule with --beneficiary (it may differ from the paying "
            "wallet's), or check that this is your schedule's attestations file",
            ExitCode.FAILED,
        )
    check = check_release(definition, schedule_id, mine, locked, signatures, now_ms, {})
    not_claimable = [
        {
            "allocation": reference,
            "rule": refusal.rule,
            "why": str(refusal),
            "passes_at_ms": refusal.passes_at_ms,
            "passes_at_iso": None if refusal.passes_at_ms is None else format_timestamp(refusal.passes_at_ms),
        }
        for reference, refusal in check.refusals
    ]
    report: dict[str, Any] = {
        "schedule_id": export_file.schedule_id,
        "beneficiary": beneficiary,
        "payer": payer,
        "allocated": allocated,
        "locked": len(mine),
        "claimable": [a.reference for a in check.releasable],
        "claimable_amount": sum(a.datum.amount for a in check.releasable),
        "not_claimable": not_claimable,
        "chain_time_ms": now_ms,
        "chain_time_iso": format_timestamp(now_ms),
    }
    if not out.json_mode:
        _show(out, report)
    if not check.releasable:
        if out.json_mode:
            out.emit_json({"ok": False, "result": report})
        else:
            out.line("nothing is claimable now", style="yellow")
        return ExitCode.FAILED
    try:
        plan = await build_release(
            chain, definition, signatures, payer, allocations=[a.reference for a in check.releasable]
        )
    except TxBuildError as exc:
        raise CommandError(str(exc), "nothing was submitted", ExitCode.FAILED) from None
    report["plan"] = plan.to_json()
    await sign_or_write(
        chain, plan.txs, key, request.unsigned_out, request.dry_run, "claim", report, "claim again"
    )
    if out.json_mode:
        out.emit_json({"ok": True, "result": report})
        return ExitCode.OK
    fee = plan.to_json()["total_fee_lovelace"]
    out.line(f"{len(plan.txs)} release transaction(s), fee {fee} lovelace paid by {payer}")
    show_signed_or_written(
        out,
        report,
        request.unsigned_out,
        request.dry_run,
        f"your wallet (hardware wallet, or cardano-cli conway transaction sign) and submit them with "
        f"`milestonectl tx submit --ogmios {request.ogmios_url} FILE...`",
    )
    return ExitCode.OK


def _show(out: Output, report: dict[str, Any]) -> None:
    out.line(
        f"{report['beneficiary']}: {report['allocated']} allocation(s) in schedule {report['schedule_id']}, "
        f"{report['locked']} still locked; {len(report['claimable'])} claimable now "
        f"({report['claimable_amount']} token units); chain time {report['chain_time_iso']}"
    )
    if report["allocated"] > report["locked"]:
        out.line(
            f"{report['allocated'] - report['locked']} already released, reclaimed or moved away "
            "(or not yet locked)"
        )
    if report["not_claimable"]:
        out.table(
            "not claimable now",
            (Column("allocation", no_wrap=True), Column("why"), Column("passes at")),
            [(r["allocation"], r["why"], r["passes_at_iso"] or "") for r in report["not_claimable"]],
        )


# --- what `claim` and `allocation move` (`move_cmd`, alike: a beneficiary acting alone) share -------------


def require_signer(key: Path | None, unsigned_out: Path | None, dry_run: bool) -> None:
    """Without a key nothing signs here: the transactions must be written for signing elsewhere."""
    if key is None and unsigned_out is None and not dry_run:
        raise CommandError(
            "without --key nothing can sign here: add --unsigned-out DIR to write the transactions",
            "then sign them (hardware wallet, cardano-cli) and `milestonectl tx submit --ogmios URL FILE`",
        )


async def sign_or_write(
    chain: Any,
    txs: list[Any],
    key: Any,
    unsigned_out: Path | None,
    dry_run: bool,
    action: str,
    report: dict[str, Any],
    again: str,
) -> None:
    """Write `txs` unsigned into `unsigned_out` (as ACTION-N.unsigned.json: `report["written"]`), or sign
    them with `key` and submit them through Ogmios (`report["submitted"]`) unless a dry run; a refusal
    says to run `again` (the command) later."""
    from milestoned.commands.textfiles import write_envelopes
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.signing import sign, unsigned_envelope
    from milestoned.txbuilder.submission import submit_all

    if unsigned_out is not None:
        report["written"] = write_envelopes(unsigned_out, action, [unsigned_envelope(b) for b in txs])
    elif key is not None and not dry_run:
        try:
            report["submitted"] = [str(t) for t in await submit_all(chain, [sign(b, [key]) for b in txs])]
        except TxBuildError as exc:
            raise CommandError(
                str(exc),
                f"the transactions before the refused one (if any) were submitted; run {again} in a "
                "minute: it rebuilds from what is still locked on chain",
                ExitCode.FAILED,
            ) from None


def show_signed_or_written(
    out: Output, report: dict[str, Any], unsigned_out: Path | None, dry_run: bool, sign_with: str
) -> None:
    """What `sign_or_write` did; `sign_with` says with what to sign the written files, and how to submit."""
    for tx_id in report.get("submitted", []):
        out.line(f"submitted {tx_id}", style="green")
    if "written" in report:
        out.line(f"unsigned transactions written to {unsigned_out}: sign them with {sign_with}")
    elif dry_run:
        out.line("dry run: nothing was signed or submitted")


# --- submit signed files straight to Ogmios (no daemon) ------------------------------------------------


def submit_direct(url: str, files: list[Path], out: Output) -> int:
    """Submit signed envelopes through Ogmios itself: the last step of a claim signed elsewhere."""
    return asyncio.run(_submit_direct(url, files, out))


async def _submit_direct(url: str, files: list[Path], out: Output) -> int:
    from milestoned.domain.network import CardanoNetwork
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.signing import transaction_from_envelope
    from milestoned.txbuilder.submission import submit_all

    txs = []
    for file in files:
        try:
            txs.append(transaction_from_envelope(read_text(file, "transaction file", 16 * 1024 * 1024)))
        except (TxBuildError, ValueError, TypeError, KeyError) as exc:
            raise CommandError(
                f"{file} is not a signed transaction envelope: {exc}", "sign it first"
            ) from None
    chain, client = await _connect(
        url, CardanoNetwork.DEVNET
    )  # the network only names addresses; unused here
    try:
        submitted = await submit_all(chain, txs)
    except TxBuildError as exc:
        raise CommandError(
            str(exc), "nothing after the refused transaction was submitted", ExitCode.FAILED
        ) from None
    finally:
        await client.close()
    if out.json_mode:
        out.emit_json({"ok": True, "result": {"submitted": submitted}})
    else:
        for tx_id in submitted:
            out.line(f"submitted {tx_id}", style="green")
    return ExitCode.OK
