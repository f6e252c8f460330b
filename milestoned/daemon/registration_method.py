"""The socket's `schedule.register`: validate a schedule, record it, and build its registration transactions.

Recording the schedule (`ScheduleRegistered`) is one event under the write lock. Building the chained
registration transactions for an `admin_address` (unsigned: the admin signs them elsewhere and sends
them with `tx.submit`) takes minutes for thousands of allocations, so `background` runs it as a job
whose counters (`built`) the client draws as a bar.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.chain_calls import long_build
from milestoned.daemon.jobs import Progress
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.submissions import state_seeds
from milestoned.eventlog.events import SchedulePolicy, ScheduleRegistered

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.commands")
REATTACH_S = 600.0
"""`schedule register` of the same schedule for the same admin, sent again while its build job runs or
this long after it ended, re-attaches to that job instead of building everything again: the client
interrupted by Ctrl-C while a 10,000-allocation registration was being built (minutes) gets the
transactions when run again. Later, a request builds afresh (the chain may have moved on)."""


async def schedule_register(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    return await _schedule_register(service, params, peer, None)


async def _schedule_register(
    service: DaemonService, params: dict[str, Any], peer: Peer, progress: Progress | None
) -> Any:
    only_params(params, {"schedule", "dry_run", "admin_address", "upload_id", "background", "resume"})
    if params.get("background"):  # building many registration transactions takes minutes: a job
        rest = {k: v for k, v in params.items() if k != "background"}
        if "upload_id" in rest:  # take the upload now, so a wrong id is refused at once
            rest["schedule"] = service.uploads.take(param(params, "upload_id", str))
            del rest["upload_id"]

        async def register(progress: Progress) -> Any:
            progress.phase = "building registration transactions"
            answer = await _schedule_register(service, rest, peer, progress)
            progress.built = len((answer.get("transactions") or {}).get("unsigned", []))
            return answer

        key = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()
        earlier = _reattachable(service, key)
        if earlier is not None:
            return {"job_id": earlier, "reattached": True}
        return {"job_id": service.jobs.start("register", peer.describe(), register, key=key).id}
    upload_id = param(params, "upload_id", str, required=False)
    document = service.uploads.take(upload_id) if upload_id else param(params, "schedule", (dict, str))
    dry_run = bool(param(params, "dry_run", bool, required=False))
    admin_address = param(params, "admin_address", str, required=False)
    resume = bool(param(params, "resume", bool, required=False))
    if resume and admin_address is None:
        raise RpcError(
            jsonrpc.INVALID_PARAMS,
            "resume builds the registration transactions not yet locked, which needs admin_address",
            "pass admin_address (milestonectl schedule register --resume --admin-address ADDR)",
        )
    definition = read_schedule(document)
    if definition.network.value != service.config.chain.network:
        raise RpcError(
            jsonrpc.VALIDATION_FAILED,
            f"the schedule is for network {definition.network.value!r} but this daemon follows "
            f"{service.config.chain.network!r}",
            'register it with the daemon of its network, or fix the schedule\'s "network"',
        )
    from milestoned.commands.output import CommandError
    from milestoned.commands.schedule_identity import schedule_identity
    from milestoned.domain.schedule_canonical import schedule_document

    try:
        identity = await asyncio.to_thread(schedule_identity, definition)
    except CommandError as exc:
        raise RpcError(jsonrpc.INTERNAL_ERROR, exc.message, exc.hint) from None
    schedule_id = identity.schedule_id.hex()
    event = ScheduleRegistered(
        schedule_id=schedule_id,
        definition=schedule_document(definition),
        policy=SchedulePolicy.from_parameters(definition.to_parameters()),
    )
    result: dict[str, Any] = {
        "schedule_id": schedule_id,
        "validator_address": identity.validator_address,
        "network": definition.network.value,
        "quorum": definition.quorum,
        "oracles": len(definition.oracle_keys),
        "allocations": len(definition.allocations),
        "milestones": [m.decode("utf-8", "backslashreplace") for m in definition.milestone_ids],
        "total_amount": definition.total_amount,
        "dry_run": dry_run,
    }
    if admin_address is not None:
        result["transactions"] = await registration_transactions(
            service, definition, admin_address, progress, resume=resume
        )
    if dry_run:
        result["registered"] = False
        result["already_registered"] = schedule_id in service.index.schedules
        return result
    async with service.write_lock:
        await service.afold()
        if schedule_id in service.index.schedules:
            result.update(registered=False, already_registered=True)
        else:
            position = await service.aappend([event])
            result.update(registered=True, already_registered=False, log_position=position)
            log.info("schedule registered", schedule_id=schedule_id, caller=peer.describe())
    return result


def _reattachable(service: DaemonService, key: str) -> str | None:
    """The earlier build job of the same request, while it runs or within `REATTACH_S` after it ended
    well (the client that started it was interrupted before it wrote the files), if the daemon still
    keeps it (`jobs.KEEP_FINISHED`); else None."""
    job = service.jobs.find(key)
    if job is None:
        return None
    if job.state == "running":
        return job.id
    if job.state == "done" and job.finished is not None and time.time() - job.finished < REATTACH_S:
        return job.id
    return None


async def registration_transactions(
    service: DaemonService,
    definition: Any,
    admin_address: str,
    progress: Progress | None = None,
    *,
    resume: bool = False,
) -> dict[str, Any]:
    """The unsigned registration transactions, for the admin to sign elsewhere (txbuilder).

    `resume`: only the allocations after those already locked on chain (an interrupted registration
    whose signed files are lost). Refused while a transaction of the admin's wallet is still in the
    mempool: the allocations it locks are not on chain yet, and building them again would lock them
    twice (`tx submit` of the same signed files resumes without that wait)."""
    from milestoned.txbuilder.errors import Refusal, TxBuildError
    from milestoned.txbuilder.registration import build_registration
    from milestoned.txbuilder.signing import unsigned_envelope

    chain = await service._tx_chain()
    if resume:
        await _refuse_while_in_mempool(service, chain, admin_address)
    try:
        on_built = progress.count_built if progress is not None else None
        if progress is not None:
            progress.allocations_total = len(definition.allocations)
        plan = await long_build(
            service.link,
            chain,
            build_registration(
                chain,
                definition,
                admin_address,
                on_built=on_built,
                resume=resume,
                reserved=state_seeds(service.index),
            ),
        )
    except Refusal as exc:
        hint = (
            "pass resume to build only the allocations not yet locked (`schedule register --resume`)"
            if "resume it" in str(exc)
            else "`milestonectl claimable --schedule-id ID` shows what is locked"
        )
        raise RpcError(jsonrpc.TX_REFUSED, str(exc), hint, rule=exc.rule) from None
    except (TxBuildError, ValueError) as exc:
        raise RpcError(jsonrpc.TX_REFUSED, str(exc), "fund the admin address or fix the schedule") from None
    return {"plan": plan.to_json(), "unsigned": [unsigned_envelope(t) for t in plan.txs]}


async def _refuse_while_in_mempool(service: DaemonService, chain: Any, admin_address: str) -> None:
    from pycardano import Address

    from milestoned.daemon.chain_calls import on_chain
    from milestoned.txbuilder.mempool import mempool_view
    from milestoned.txbuilder.utxo_codec import input_text

    try:
        admin = Address.from_primitive(admin_address)
    except Exception as exc:  # pycardano raises several types for a malformed address
        raise RpcError(jsonrpc.INVALID_PARAMS, f"admin_address is not an address: {exc}") from None
    pool = await on_chain(service.link, mempool_view(chain))
    held = await on_chain(service.link, chain.utxos_at([admin]))
    waiting = {pool.spent[ref] for ref in (input_text(u.input) for u in held) if ref in pool.spent}
    if waiting:
        raise RpcError(
            jsonrpc.TX_REFUSED,
            f"{len(waiting)} transaction(s) of the admin wallet {admin} are still in the mempool "
            f"(e.g. {min(waiting)}): the allocations they lock are not on chain yet, and registering "
            "them again would lock them twice",
            "wait until they are in a block and resume again, or finish with the signed files you have: "
            "`milestonectl tx submit DIR` sends only those not sent before",
        )


def read_schedule(document: object) -> Any:
    """The schedule sent over the socket, parsed and validated by the domain; every problem named."""
    from milestoned.domain.schedule_file import parse_schedule_document
    from milestoned.domain.schedule_json import load_schedule_json
    from milestoned.domain.validation_errors import ScheduleValidationError

    try:
        decoded = load_schedule_json(document) if isinstance(document, str) else document
        return parse_schedule_document(decoded)
    except ScheduleValidationError as invalid:
        errors = [{"path": e.path, "message": e.message, "hint": e.hint} for e in invalid.errors]
        raise RpcError(
            jsonrpc.VALIDATION_FAILED,
            f"the schedule has {len(errors)} error(s): "
            + "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5]),
            "fix them and check with `milestonectl schedule validate "
            "FILE`; send the schedule with its oracle "
            "keys inline (milestonectl does this for you)",
            errors=errors,
        ) from None
    except ValueError as exc:
        raise RpcError(jsonrpc.VALIDATION_FAILED, f"the schedule is not readable: {exc}") from None
