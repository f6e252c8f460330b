"""The socket's `milestone.cancel` method: a quorum of oracles cancelled a milestone that will never be
delivered, and the admin takes its still-locked allocations back at once, before the reclaim deadline
(issue 15, point 1).

Every cancellation file is checked first, as the policy's `Cancel` redeemer will check it
(`domain.cancellation`: statement "cancel", this schedule, one of its milestones, known oracles, valid
signatures, a quorum of distinct ones): a bad request is refused, naming each file that is wrong and what
to do, before any UTxO is fetched or anything built. Then, like `reclaim`, two paths:
- `admin_address` given: the transactions are built unsigned, paid by and returned to that address, and
  answered as text envelopes; the admin signs them elsewhere and submits them with `tx.submit`;
- no `admin_address`: the daemon's operator wallet signs, pays and submits, which the policy only
  accepts when that wallet's key IS the schedule's admin key (checked before building). Each transaction
  is sent with its intent recorded first, under the leader's term (`daemon.submissions`), and settled
  like a release: the indexer sees the allocations leave (`AllocationCancelled`) and the cancellation
  (`MilestoneCancelled`).
A cancellation has no deadline and is not blocked by a pause.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.reclaim_method import (
    admin_params,
    admin_signer,
    answered_unsubmitted,
    build_for_admin,
    send_for_admin,
)
from milestoned.daemon.request_checks import check_schedule_id

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService
    from milestoned.domain.cancellation import VerifiedCancellation
    from milestoned.domain.schedule import ScheduleDefinition

log = structlog.get_logger("milestoned.commands")


def verified_cancellation(
    definition: ScheduleDefinition, schedule_id: str, milestone: str, files: list[Any]
) -> VerifiedCancellation:
    """The files (JSON text or documents) as a verified cancellation of `milestone`, or an RpcError that
    names every file that is wrong. Nothing here touches the chain."""
    from milestoned.domain.allocation import milestone_id_bytes
    from milestoned.domain.attestation_file import parse_attestation_document, parse_attestation_json
    from milestoned.domain.cancellation import CancellationRefused, verify_cancellation
    from milestoned.domain.validation_errors import InputProblem

    parsed = []
    problems: list[str] = []
    for number, item in enumerate(files, start=1):
        try:
            parsed.append(
                parse_attestation_json(item) if isinstance(item, str) else parse_attestation_document(item)
            )
        except InputProblem as exc:
            problems.append(f"cancellation file {number} {exc}")
    if problems:
        raise RpcError(
            jsonrpc.VALIDATION_FAILED,
            f"{len(problems)} of {len(files)} cancellation file(s) do not read; nothing was built: "
            + "; ".join(problems),
            "give the files `milestonectl attest sign --cancel` wrote, unchanged",
            problems=problems,
        )
    try:
        return verify_cancellation(
            parsed,
            schedule_id=bytes.fromhex(schedule_id),
            milestone_id=milestone_id_bytes(milestone),
            milestones=definition.milestone_ids,
            oracle_keys=definition.oracle_keys,
            quorum=definition.quorum,
        )
    except CancellationRefused as exc:
        raise RpcError(jsonrpc.VALIDATION_FAILED, str(exc), exc.hint, problems=list(exc.problems)) from None


async def cancel(service: DaemonService, params: dict[str, Any], peer: Peer) -> dict[str, Any]:
    only_params(params, {"schedule_id", "milestone", "cancellations", "admin_address", "dry_run"})
    schedule_id = check_schedule_id(param(params, "schedule_id", str), service.index.schedules)
    milestone = param(params, "milestone", str)
    files = param(params, "cancellations", list)
    if not files:
        raise RpcError(
            jsonrpc.INVALID_PARAMS,
            '"cancellations" is empty',
            "give the cancellation files a quorum of the schedule's oracles signed (`attest sign --cancel`)",
        )
    admin_address, dry_run = admin_params(service, params)

    from milestoned.domain.schedule_file import parse_schedule_document

    definition = parse_schedule_document(dict(service.index.schedules[schedule_id].definition))
    cancellation = verified_cancellation(definition, schedule_id, milestone, files)

    key, admin_address = admin_signer(
        service, definition, admin_address, "take a cancelled milestone's allocations back"
    )

    from milestoned.txbuilder.cancel import build_cancel

    chain = await service._tx_chain()
    # never the same allocations as a release being built (release_lock), nor a half-recorded state
    async with service.release_lock, service.write_lock:
        plan = await build_for_admin(
            service,
            partial(build_cancel, chain, definition, admin_address, [cancellation]),
            passes_in_time=False,
        )
        result: dict[str, Any] = {
            "plan": plan.to_json(),
            "dry_run": dry_run,
            "schedule_id": schedule_id,
            "milestone": milestone,
            "oracle_indices": list(cancellation.oracle_indices),
            "valid_signers": cancellation.valid_signers,
        }
        if answered_unsubmitted(result, plan, key, dry_run):
            return result
        tx_ids = await send_for_admin(service, chain, plan, key, "cancel")
        result["submitted"] = [str(t) for t in tx_ids]
        result["log_position"] = service.log.head().position
    log.info(
        "cancellation submitted",
        schedule_id=schedule_id,
        milestone=milestone,
        transactions=len(tx_ids),
        caller=peer.describe(),
    )
    return result
