"""The socket's `reclaim` method: after a schedule's reclaim deadline, the admin takes back what was never
released.

Two paths, because the daemon usually does not hold the admin's key:
- `admin_address` given: the daemon builds the reclaim transactions unsigned, paid by and returned to
  that address, and answers them as cardano-cli text envelopes; the admin signs them elsewhere (a
  hardware wallet, cardano-cli) and submits them with `tx.submit`, which tracks them like its own;
- no `admin_address`: the daemon's operator wallet signs, pays and submits, which the scripts only
  accept when that wallet's key IS the schedule's admin key (checked before building). Each transaction
  is sent with its intent recorded first, under the leader's term, like a release (`send_for_admin`).
The deadline is checked first, against the chain's time at the node's tip, before anything is built or
any UTxO fetched: before it, the answer says when reclaim opens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.request_checks import check_address, check_out_refs, check_schedule_id
from milestoned.daemon.submissions import reconcile_open_intents, state_seeds
from milestoned.domain.timestamps import format_timestamp

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService
    from milestoned.domain.schedule import ScheduleDefinition
    from milestoned.txbuilder.release import ReleasePlan

log = structlog.get_logger("milestoned.commands")


def chain_time_ms(service: DaemonService) -> int | None:
    """The chain's time at the node's tip (None until both the tip and the slot clock are known)."""
    tip = service.link.tip_slot if service.link is not None else None
    if tip is None or service.projector is None:
        return None
    return int(service.projector.slots.slot_to_posix_ms(tip))


def refuse_before_deadline(deadline_ms: int, now_ms: int | None) -> None:
    if now_ms is None:
        raise RpcError(
            jsonrpc.NOT_READY,
            "the daemon does not know the chain's time yet, so it cannot tell whether the reclaim deadline "
            "has passed",
            "wait until `milestonectl status` shows a node tip slot, then try again",
        )
    if now_ms < deadline_ms:
        raise RpcError(
            jsonrpc.TX_REFUSED,
            f"refused (reclaim_deadline): the reclaim deadline is {format_timestamp(deadline_ms)} and chain "
            f"time is {format_timestamp(now_ms)}; nothing was built",
            f"reclaim opens at {format_timestamp(deadline_ms)} (chain time); try again after it",
            rule="reclaim_deadline",
            passes_at_ms=deadline_ms,
        )


async def reclaim(service: DaemonService, params: dict[str, Any], peer: Peer) -> dict[str, Any]:
    only_params(params, {"schedule_id", "allocations", "admin_address", "dry_run"})
    schedule_id = check_schedule_id(param(params, "schedule_id", str), service.index.schedules)
    allocations = param(params, "allocations", list, required=False)
    if allocations is not None:
        if not all(isinstance(a, str) for a in allocations):
            raise RpcError(jsonrpc.INVALID_PARAMS, '"allocations" must be a list of "txid#index" strings')
        allocations = check_out_refs(allocations)
    admin_address, dry_run = admin_params(service, params)

    from milestoned.domain.schedule_file import parse_schedule_document

    definition = parse_schedule_document(dict(service.index.schedules[schedule_id].definition))
    refuse_before_deadline(definition.reclaim_deadline_ms, chain_time_ms(service))

    key, admin_address = admin_signer(service, definition, admin_address, "reclaim")

    from milestoned.txbuilder.reclaim import build_reclaim

    chain = await service._tx_chain()
    # never the same allocations as a release being built (release_lock), nor a half-recorded state
    async with service.release_lock, service.write_lock:
        plan = await build_for_admin(
            service,
            partial(build_reclaim, chain, definition, admin_address, allocations=allocations),
            passes_in_time=True,
        )
        result: dict[str, Any] = {"plan": plan.to_json(), "dry_run": dry_run, "schedule_id": schedule_id}
        if answered_unsubmitted(result, plan, key, dry_run):
            return result
        tx_ids = await send_for_admin(service, chain, plan, key, "reclaim")
        result["submitted"] = tx_ids
        result["log_position"] = service.log.head().position
    log.info("reclaim submitted", schedule_id=schedule_id, transactions=len(tx_ids), caller=peer.describe())
    return result


# --- what a reclaim and a cancellation (`cancel_method`, a kind of reclaim) share -----------------------


async def send_for_admin(
    service: DaemonService, chain: Any, plan: ReleasePlan, key: Any, action: str
) -> list[str]:
    """Sign the plan's transactions with the operator key (the admin's) and send them, each with its
    intent recorded first under the leader's term (`daemon.submissions.send_recorded`): a daemon killed
    between sending and recording still knows what it sent, and a deposed leader sends nothing. The
    caller holds `service.write_lock`."""
    from milestoned.daemon.submissions import Outgoing, send_recorded
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.signing import sign

    outgoing = [
        Outgoing(
            sign(built, [key]),
            tuple(built.details["allocations"]),
            int(built.tx.transaction_body.ttl or 0),
            str(built.tx_id),
        )
        for built in plan.txs
    ]
    try:
        return await send_recorded(service, chain, outgoing)
    except TxBuildError as exc:
        raise RpcError(
            jsonrpc.TX_REFUSED,
            str(exc),
            "the transactions before it were sent and recorded, it and the later ones recorded as "
            f"failed; `milestonectl submissions` shows which; {action} again for the rest",
        ) from None


def admin_params(service: DaemonService, params: dict[str, Any]) -> tuple[str | None, bool]:
    """The request's `admin_address` (checked against the daemon's network; None: the operator wallet
    signs) and `dry_run`."""
    admin_address = param(params, "admin_address", str, required=False)
    if admin_address is not None:
        admin_address = check_address("admin_address", admin_address, service.config.chain.cardano_network)
    return admin_address, bool(param(params, "dry_run", bool, required=False))


def admin_signer(
    service: DaemonService, definition: ScheduleDefinition, admin_address: str | None, action: str
) -> tuple[Any, str]:
    """(the operator wallet's key, its address) when no `admin_address` was given, which the policy only
    accepts when that key is the schedule's admin: else refused before building, naming `action` and the
    unsigned path. (None, `admin_address`) when it was given: the admin signs elsewhere."""
    if admin_address is not None:
        return None, admin_address
    key, payer = service._load_wallet()
    from milestoned.txbuilder.signing import key_hash

    if key_hash(key).payload != definition.admin_key_hash:
        raise RpcError(
            jsonrpc.TX_REFUSED,
            f"the daemon's operator wallet is not the schedule's admin, and only the admin may {action}",
            "pass --admin-address ADDR --unsigned-out DIR to get unsigned transactions, sign them with "
            "the admin key and submit them with `milestonectl tx submit`",
        )
    return key, str(payer)


async def build_for_admin(
    service: DaemonService, build: Callable[..., Awaitable[ReleasePlan]], *, passes_in_time: bool
) -> ReleasePlan:
    """`build(in_flight=..., validity_ms=..., reserved=...)` on the folded log (never spending a guarded
    schedule's state seed), its refusals as answers (with when they pass, `passes_in_time`, for a
    reclaim's deadline). The caller holds the release and write locks: never the same allocations as a
    release being built, nor a half-recorded state."""
    from milestoned.txbuilder.errors import TxBuildError

    await service.afold()
    await reconcile_open_intents(service)  # a crash's intent never sent holds no allocation
    try:
        return await build(
            in_flight=service.index.in_flight_refs(),
            validity_ms=service.config.release.validity_seconds * 1000,
            reserved=state_seeds(service.index),
        )
    except TxBuildError as exc:
        when = {"passes_at_ms": getattr(exc, "passes_at_ms", None)} if passes_in_time else {}
        raise RpcError(
            jsonrpc.TX_REFUSED,
            str(exc),
            "nothing was built or recorded",
            rule=getattr(exc, "rule", None),
            **when,
        ) from None
    except ValueError as exc:
        raise RpcError(jsonrpc.INVALID_PARAMS, str(exc)) from None


def answered_unsubmitted(result: dict[str, Any], plan: ReleasePlan, key: Any, dry_run: bool) -> bool:
    """True when nothing is to be submitted here: the unsigned-export path (no key: the admin signs and
    submits; `result` gets the envelopes) or a dry run."""
    if key is None:
        from milestoned.txbuilder.signing import unsigned_envelope

        result["unsigned"] = [unsigned_envelope(built) for built in plan.txs]
        return True
    return dry_run
