"""The socket's queries: status, schedules, milestones, claimable amounts and submissions. They never write.

Each answers from the projections (caught up first) and the daemon's local index; JSON times carry an
ISO 8601 twin, and answers given while the daemon syncs say so (`stale`).
"""

from __future__ import annotations

import functools
import os
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from milestoned import __version__
from milestoned.daemon.jsonrpc import only_params, param
from milestoned.daemon.request_checks import check_address, check_schedule_id
from milestoned.eventlog.events import ScheduleRegistered

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService
    from milestoned.domain.network import CardanoNetwork
    from milestoned.projections.readmodels import ProjectionSummary
    from milestoned.projections.store import ProjectionStore


QUERY_CATCH_UP_BATCHES = 1
"""How many projection batches a query applies itself before answering (when no catch-up is under way).
The daemon's projections job catches up the rest every half second."""

QUERY_CATCH_UP_EVENTS = 32
"""A query applies new events itself only while the projections are at most this many behind the log.
Further behind (the follower recording a large chain), a query answering after a batch of a few hundred
events took 50-200 ms while every other client waited for the interpreter lock; it answers from the
projections as they are instead (its answer and `status` say how far they are), and the projections
job catches up."""


async def catch_up_for_query(service: DaemonService) -> None:
    """Bring the projections forward a little before answering, never by a whole catch-up.

    A query used to catch the projections up entirely when no catch-up was under way: the first query
    after the follower recorded a 10,000-allocation registration then applied all of it (seconds) before
    answering. Now it applies at most `QUERY_CATCH_UP_BATCHES` batches (all a small log ever needs, so
    small schedules see exactly what they saw before) and answers from the projections as they are.
    """
    if service.projector is None or not service.may_project or service.catching_up:
        return
    applied = service.projection_position
    if applied is not None:
        behind = service.log.head().position - applied
        if behind > QUERY_CATCH_UP_EVENTS:
            return
        if behind <= 0 and service.leadership.may_write:  # we append, so the head we hold is the log's
            return
    await service.read(service.catch_up, False, QUERY_CATCH_UP_BATCHES)


def _point_or_none(point: Any) -> str | None:
    """A chain point as `SLOT.HASH` (what `--from` and the recovery card take), None when unknown."""
    if point is None:
        return None
    return "origin" if point.is_origin else f"{point.slot}.{point.header_hash}"


def milestone_label(milestone_hex: str) -> str:
    try:
        return bytes.fromhex(milestone_hex).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return milestone_hex


async def projections_summary(service: DaemonService) -> ProjectionSummary:
    """The projections' chain tip and paused schedules, read again only when their position moved.

    Both are functions of the projections' position (only applied events move them), so `status`, the
    most frequent question, is answered on the loop without a trip to a worker thread while nothing
    moved: a catch-up notes them with the position (`DaemonService.note_projections`). Otherwise (a
    follower daemon whose projections the leader moves) they are read here; should the position be read
    before a catch-up and the summary after it, the noted summary is newer than its key, and the next
    position change reads it again.
    """
    position = service.projection_position
    noted = service.projection_summary
    if position is not None and noted is not None and noted[0] == position:
        return noted[1]
    summary = await service.read(service.read_projection_summary)
    if position is not None:
        service.projection_summary = (position, summary)
    return summary


HEAD_REFRESHES = 3


async def consistent_health(service: DaemonService) -> Any:
    """The health answer, its log position never behind its projections' position.

    The chain follower appends in its own thread and notes the log's new head after the commit; in
    between, a catch-up in a worker thread may already have applied the committed events, and the
    noted head (what `health` reads, without a database trip) is behind the projections. Then the head
    is read again from the database in a worker thread (it waits for the append to finish noting it)
    and the health taken again (a few times at most: each catch-up can only follow a commit).
    """
    health = service.health()
    for _ in range(HEAD_REFRESHES):
        if health.projection_position is None or health.projection_position <= health.log_position:
            break
        await service.read(functools.partial(service.log.head, refresh=True))
        health = service.health()
    return health


async def status(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, set())
    health = await consistent_health(service)
    head = service.log.head()
    progress = service.follower.progress() if service.follower is not None else None
    try:
        summary = await projections_summary(service)
        tip, paused = summary.tip, sorted(summary.paused)
    except Exception:  # reported in health.problems; the rest of the status still answers
        tip, paused = None, []
    return {
        "version": __version__,
        "network": service.config.chain.network,
        "ogmios_url": service.ogmios_url,
        "embedded_devnet": service.devnet_url,
        "state": "recovering" if service._recovering() else health.state,
        "health": health.to_json(),
        "recovery": None
        if service.recovery is None
        else {
            **service.recovery.to_json(),
            "progress": {"indexer_slot": health.indexer_slot, "node_tip_slot": health.node_tip_slot},
        },
        "log": {"position": head.position, "hash": head.hash, "store": service.log.config.describe()},
        "projections": {
            "position": health.projection_position,
            "store": service.projections.config.describe(),
            "ready": service.projector is not None,
            "chain_tip": None
            if tip is None
            else {"slot": tip.slot, "header_hash": tip.header_hash, "chain_time_ms": tip.chain_time_ms},
        },
        "indexer": None
        if progress is None
        else {
            "blocks_seen": progress.blocks_seen,
            "blocks_written": progress.blocks_written,
            "rollbacks_recorded": progress.rollbacks_recorded,
            "reconnects": progress.reconnects,
        },
        "schedules": len(service.index.schedules),
        "paused_schedules": paused,  # issue 15: whose guardians stopped their releases
        "pending_submissions": len(service.index.in_flight),
        "auto_release": service.config.release.auto,
        "caller": {"uid": peer.uid, "admin": service.admins.is_admin(peer)},
        "uptime_s": round(time.time() - service.started, 1),
        "pid": os.getpid(),
    }


async def schedules(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, set())
    await service.afold()  # schedules discovered on chain reach the index through the log
    paused = (await projections_summary(service)).paused
    return [
        {
            "schedule_id": sid,
            "network": event.definition.get("network"),
            "quorum": event.policy.quorum,
            "oracles": len(event.policy.oracle_keys),
            "allocations": len(event.definition.get("beneficiary_allocations", ())),
            "source": "registered here" if isinstance(event, ScheduleRegistered) else "discovered on chain",
            "registered_at": _point_or_none(service.index.registered_at.get(sid)),
            "rebuild_from": _point_or_none(service.index.rebuild_from.get(sid)),
            # issue 15: who may pause its releases, and whether they have (None: no guardians)
            "guardians": list(event.policy.guardian_keys),
            "guardian_threshold": event.policy.guardian_threshold,
            "state_seed": event.policy.state_seed or None,  # the UTxO the state's creation spends
            "paused": (sid in paused) if event.policy.guardian_threshold else None,
        }
        for sid, event in sorted(service.index.schedules.items())
    ]


_MILESTONES_OF: dict[str, tuple[object, tuple[tuple[str, str], ...]]] = {}


def registered_milestones(schedule_id: str, event: Any) -> tuple[tuple[str, str], ...]:
    """(hex id, label) of each milestone a schedule's definition names, in order of first use.

    Remembered per schedule event: a definition does not change, and reading all 10,000 allocations of
    a large schedule on the loop for every `milestones` request would hold up every other client.
    """
    cached = _MILESTONES_OF.get(schedule_id)
    if cached is not None and cached[0] is event:
        return cached[1]
    labels = dict.fromkeys(
        str(allocation["milestone_identifier"])
        for allocation in event.definition.get("beneficiary_allocations", ())
    )
    found = tuple((label.encode().hex(), label) for label in labels)
    _MILESTONES_OF[schedule_id] = (event, found)
    return found


async def milestones(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"schedule_id"})
    schedule_id = param(params, "schedule_id", str, required=False)
    if schedule_id is not None:
        schedule_id = check_schedule_id(schedule_id, service.index.schedules)
    await catch_up_for_query(service)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for state in await service.read(service.projections.milestone_states):
        rows[(state.schedule_id, state.milestone_id)] = {
            "schedule_id": state.schedule_id,
            "milestone_id": state.milestone_id,
            "milestone": milestone_label(state.milestone_id),
            "quorum": state.quorum,
            "signatures": len(state.signed_by),
            "signed_by": list(state.signed_by),
            "quorum_reached": state.quorum_reached,
            "allocations_locked": state.allocations_locked,
            "amount_locked": state.amount_locked,
            "allocations_released": state.allocations_released,
            "amount_released": state.amount_released,
            "allocations_reclaimed": state.allocations_reclaimed,
            "amount_reclaimed": state.amount_reclaimed,
            "cancelled": state.cancelled,
            "cancelled_in": list(state.cancelled_in),
        }
    for sid, event in service.index.schedules.items():  # registered milestones nobody signed yet
        for hex_id, label in registered_milestones(sid, event):
            rows.setdefault(
                (sid, hex_id),
                {
                    "schedule_id": sid,
                    "milestone_id": hex_id,
                    "milestone": label,
                    "quorum": event.policy.quorum,
                    "signatures": 0,
                    "signed_by": [],
                    "quorum_reached": False,
                    "allocations_locked": 0,
                    "amount_locked": 0,
                    "allocations_released": 0,
                    "amount_released": 0,
                    "allocations_reclaimed": 0,
                    "amount_reclaimed": 0,
                    "cancelled": False,
                    "cancelled_in": [],
                },
            )
    return [row for key, row in sorted(rows.items()) if schedule_id is None or key[0] == schedule_id]


async def claimable(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"beneficiary", "schedule_id"})
    beneficiary = param(params, "beneficiary", str, required=False)
    schedule_id = param(params, "schedule_id", str, required=False)
    if schedule_id is not None:
        schedule_id = check_schedule_id(schedule_id, service.index.schedules)
    await catch_up_for_query(service)
    in_flight = in_flight_refs(service)
    # checked, read, shaped and serialised in a worker thread: bech32 in pure Python costs a millisecond,
    # and an unfiltered answer over a 10,000-allocation schedule is megabytes of JSON; neither may hold
    # up the loop that serves everyone else
    network = service.config.chain.cardano_network
    return await service.read(
        claimable_answer, service.projections, beneficiary, network, schedule_id, in_flight
    )


_IN_FLIGHT: weakref.WeakKeyDictionary[DaemonService, tuple[object, int, Mapping[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def in_flight_refs(service: DaemonService) -> Mapping[str, str]:
    """`LocalIndex.in_flight_refs()`, built again only when the index folded more of the log.

    The index changes only by folding events (its position moves), and while a release of thousands of
    allocations is under way every claimable question would otherwise rebuild the map of all of them
    on the loop.
    """
    index = service.index
    cached = _IN_FLIGHT.get(service)
    if cached is not None and cached[0] is index and cached[1] == index.position:
        return cached[2]
    refs = index.in_flight_refs()
    _IN_FLIGHT[service] = (index, index.position, refs)
    return refs


def claimable_answer(
    projections: ProjectionStore,
    beneficiary: str | None,
    network: CardanoNetwork,
    schedule_id: str | None,
    in_flight: Mapping[str, str],
) -> orjson.Fragment:
    """The `claimable` answer (allocations and per-beneficiary totals), already serialised; a
    beneficiary that is not a payment address of `network` is refused (INVALID_PARAMS)."""
    allocations = projections.claimable(beneficiary)
    if beneficiary is not None and not allocations:
        # Not a beneficiary as spelt. Rows hold only canonical payment addresses of this network, so an
        # address that has rows needs no check (bech32 in pure Python, a millisecond for each new one);
        # any other is checked now: refused, or read again in its canonical spelling.
        canonical = checked_beneficiary(beneficiary, network)
        if canonical != beneficiary:
            allocations = projections.claimable(canonical)
    rows = []
    totals: dict[str, int] = {}
    for a in allocations:
        if schedule_id is not None and a.schedule_id != schedule_id:
            continue
        rows.append(
            {
                "beneficiary": a.beneficiary,
                "allocation": a.out_ref,
                "schedule_id": a.schedule_id,
                "milestone": milestone_label(a.milestone_id),
                "amount": a.amount,
                "vesting_time_ms": a.vesting_time_ms,
                "milestone_verified": a.milestone_verified,
                "vesting_passed": a.vesting_passed,
                "released": a.released,
                "reclaimed": a.reclaimed,
                "milestone_cancelled": a.milestone_cancelled,
                "status": a.status,
                "claimable_now": a.claimable_now,
                "schedule_paused": a.schedule_paused,
                "next_unlock_ms": a.next_unlock_ms,
                "in_flight": a.out_ref in in_flight,
            }
        )
        totals[a.beneficiary] = totals.get(a.beneficiary, 0) + (a.amount if a.claimable_now else 0)
    return orjson.Fragment(orjson.dumps({"allocations": rows, "claimable_now_by_beneficiary": totals}))


@functools.lru_cache(maxsize=4096)
def checked_beneficiary(address: str, network: CardanoNetwork) -> str:
    """`check_address` for a beneficiary, remembered: decoding bech32 in pure Python costs about a
    millisecond on the loop, and clients ask about the same few thousand addresses again and again
    (a refused address raises, and is not remembered)."""
    return check_address("beneficiary", address, network)


async def submissions(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, {"status"})
    status = param(params, "status", str, required=False)
    await catch_up_for_query(service)
    return [
        {
            "tx_id": s.tx_id,
            "allocations": list(s.allocation_refs),
            "validity_upper_slot": s.validity_upper_slot,
            "status": s.status,
            "reason": s.reason,
        }
        for s in await service.read(service.projections.submissions, status)
    ]
