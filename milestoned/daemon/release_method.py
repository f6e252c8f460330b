"""The socket's `release`, `job` and `jobs`: releases built and sent as jobs the daemon keeps serving beside.

A release is built under its own lock (one at a time), NOT the write lock: building many transactions
takes minutes, and the scheduler's jobs and other commands must run meanwhile. Each transaction is then
sent with its intent recorded first and recorded as submitted as soon as Ogmios took it (`submissions`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.chain_calls import long_build
from milestoned.daemon.jobs import Job, Progress
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.refusal_hints import refusal_hint
from milestoned.daemon.request_checks import check_address, check_out_refs, check_schedule_id
from milestoned.daemon.submissions import Outgoing, send_recorded, wallet_exclusions

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.commands")


async def release(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"schedule_id", "allocations", "beneficiary", "dry_run", "background"})
    background = bool(param(params, "background", bool, required=False))
    schedule_id = param(params, "schedule_id", str)
    allocations = param(params, "allocations", list, required=False)
    beneficiary = param(params, "beneficiary", str, required=False)
    dry_run = bool(param(params, "dry_run", bool, required=False))
    if allocations is not None and not all(isinstance(a, str) for a in allocations):
        raise RpcError(jsonrpc.INVALID_PARAMS, '"allocations" must be a list of "txid#index" strings')
    schedule_id = check_schedule_id(schedule_id, service.index.schedules)
    if allocations is not None:
        allocations = check_out_refs(allocations)
    if beneficiary is not None:
        beneficiary = check_address("beneficiary", beneficiary, service.config.chain.cardano_network)
    if background:  # a job: answer its id now; `job` reports built / submitted / confirmed
        service._load_wallet()  # a missing wallet is refused at once, not as a failed job
        job = service.jobs.start(
            "release",
            peer.describe(),
            lambda progress: release_schedule(
                service, schedule_id, allocations, beneficiary, dry_run, peer.describe(), progress=progress
            ),
        )
        return {"job_id": job.id}
    return await release_schedule(service, schedule_id, allocations, beneficiary, dry_run, peer.describe())


async def release_schedule(
    service: DaemonService,
    schedule_id: str,
    allocations: list[str] | None,
    beneficiary: str | None,
    dry_run: bool,
    caller: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from milestoned.domain.schedule_file import parse_schedule_document
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.release import build_release
    from milestoned.txbuilder.signing import sign

    progress = progress or Progress()
    progress.phase = "building"
    registered = service.index.schedules.get(schedule_id)
    if registered is None:
        raise RpcError(
            jsonrpc.NOT_FOUND,
            f"schedule {schedule_id} is not registered with this daemon",
            "register it first (milestonectl schedule register FILE); "
            "`milestonectl schedules` lists the registered ones",
        )
    definition = parse_schedule_document(dict(registered.definition))
    key, payer = service._load_wallet()
    chain = await service._tx_chain()
    # Releases are built one at a time (release_lock), but NOT under the write lock: building and
    # submitting many transactions takes minutes, and the scheduler's jobs (settling submissions,
    # cursor checkpoints) and other commands must keep running meanwhile. The write lock is taken
    # only to read a consistent in-flight set and to record each submission (intent first).
    async with service.release_lock:
        async with service.write_lock:
            service.fold()
            signatures = service.index.signatures_by_milestone(schedule_id)
            in_flight, spent, unconfirmed = await wallet_exclusions(service, chain)
        try:
            plan = await long_build(
                service.link,
                chain,
                build_release(
                    chain,
                    definition,
                    signatures,
                    payer,
                    allocations=allocations,
                    beneficiary=beneficiary,
                    in_flight=in_flight,
                    validity_ms=service.config.release.validity_seconds * 1000,
                    spent_elsewhere=spent,
                    unconfirmed_tx_ids=unconfirmed,
                    on_built=progress.count_built,
                    # independent chains, one per funding UTxO, evaluated in parallel (issue 18.3);
                    # still submitted one at a time below, each intent recorded before its send
                    lanes=os.cpu_count() or 1,
                ),
            )
        except TxBuildError as exc:
            raise RpcError(
                jsonrpc.TX_REFUSED,
                str(exc),
                refusal_hint(exc),
                rule=getattr(exc, "rule", None),
                passes_at_ms=getattr(exc, "passes_at_ms", None),
            ) from None
        except ValueError as exc:
            raise RpcError(jsonrpc.INVALID_PARAMS, str(exc)) from None
        result: dict[str, Any] = {"plan": plan.to_json(), "dry_run": dry_run}
        progress.built = len(plan.txs)
        if dry_run:
            return result
        progress.phase = "submitting"
        # One at a time, each with its intent recorded before it is sent and recorded as submitted as
        # soon as Ogmios accepted it: `submissions` shows it at once, a crash between sending and
        # recording loses nothing, and a refusal half-way leaves the earlier ones tracked.
        for built in plan.txs:
            outgoing = Outgoing(
                sign(built, [key]),
                tuple(built.details["allocations"]),
                int(built.tx.transaction_body.ttl or 0),
            )
            try:
                async with service.write_lock:
                    service.fold()
                    [tx_id] = await send_recorded(service, chain, [outgoing])
            except TxBuildError as exc:
                done = progress.submitted
                raise RpcError(
                    jsonrpc.TX_REFUSED,
                    f"{exc} ({done} of {len(plan.txs)} transactions were submitted and recorded "
                    "before it; this one is recorded as failed)",
                    "`milestonectl submissions` shows what was submitted; release again for the rest",
                    submitted=list(progress.tx_ids),
                ) from None
            result["log_position"] = service.log.head().position
            progress.submitted += 1
            progress.tx_ids.append(str(tx_id))
        result["submitted"] = list(progress.tx_ids)
        progress.phase = "confirming"
    log.info("release submitted", schedule_id=schedule_id, transactions=len(plan.txs), caller=caller)
    return result


async def job(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"job_id"})
    return _job_json(service, service.jobs.get(param(params, "job_id", str)))


async def list_jobs(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, set())
    return [_job_json(service, job) for job in service.jobs.all()]


def _job_json(service: DaemonService, job: Job) -> dict[str, Any]:
    service.catch_up()
    ours = set(job.progress.tx_ids)
    status = {s.tx_id: s.status for s in service.projections.submissions() if s.tx_id in ours}
    document = job.to_json(sum(1 for tx_id in ours if status.get(tx_id) == "confirmed"))
    document["settled"] = sum(1 for tx_id in ours if status.get(tx_id, "submitted") != "submitted")
    return document
