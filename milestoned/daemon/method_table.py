"""The socket's method table: each JSON-RPC method name, its handler, whether it changes anything, and a
one-line summary (what `milestonectl methods` lists).

Why a module of its own: the table and the guard that every changing method passes through (a follower
refuses, naming the leader; a daemon rebuilding its log from the chain refuses until it is done) are one
decision, "what may this socket do now", apart from what each handler does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError
from milestoned.daemon.socket_server import Method

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService


def socket_methods(service: DaemonService) -> dict[str, Method]:
    """The table the socket serves, every changing method behind `refused_unless_writable`."""
    return {
        name: Method(refused_unless_writable(service, m.handler), True, m.summary) if m.mutating else m
        for name, m in _table(service).items()
    }


def refused_unless_writable(service: DaemonService, handler: Any) -> Any:
    """`handler`, refused while this daemon may not change anything: as a follower (the error names the
    leader to send it to) or while the log is rebuilt from the chain. Checked at each call, since both
    change while the daemon runs."""

    async def guarded(params: dict[str, Any], peer: Peer) -> Any:
        leadership = service.leadership
        if not leadership.may_write:
            raise RpcError(
                jsonrpc.NOT_LEADER,
                f"this daemon is a follower (term {leadership.term}) and changes nothing; the leader "
                f"is {leadership.leader or 'being elected'}",
                "send the command to the leader's socket (`milestonectl --socket PATH`); this one "
                "answers queries, and takes over by itself if the leader stops",
                leader=leadership.leader or None,
                term=leadership.term,
            )
        recovery = service.recovery
        if recovery is not None and recovery.state != "done":
            raise RpcError(
                jsonrpc.RECOVERING,
                f"the event log is being rebuilt from the chain ({recovery.state}, from "
                f"{recovery.to_json()['from']}); nothing can be changed until it is done",
                "watch `milestonectl status` (its recovery part) and try again once it says done"
                + (f"; {recovery.error}" if recovery.error else ""),
            )
        return await handler(params, peer)

    return guarded


def _table(service: DaemonService) -> dict[str, Method]:
    s = service
    return {
        "status": Method(s.status, False, "sync state, tips, lag, log head, projection position"),
        "health": Method(
            s.health_method, False, "synced / syncing / disconnected / failing, tip, lag, problems"
        ),
        "schedule.register": Method(s.schedule_register, True, "register a schedule (or dry_run)"),
        "schedule.upload": Method(s.schedule_upload, True, "one part of a schedule too large for a line"),
        "schedules": Method(s.schedules, False, "registered schedules"),
        "signature.commit": Method(s.signature_commit, True, "commit oracle attestations"),
        "milestones": Method(s.milestones, False, "milestone state: signatures, quorum, locks"),
        "claimable": Method(s.claimable, False, "claimable amounts per beneficiary and allocation"),
        "submissions": Method(s.submissions, False, "release transactions and their outcome"),
        "job": Method(s.job, False, "a job's state: built, submitted, confirmed"),
        "jobs": Method(s.list_jobs, False, "the jobs kept: running, and the last finished"),
        "release": Method(s.release, True, "build, sign and submit release transactions"),
        "tx.submit": Method(s.tx_submit, True, "submit transactions signed elsewhere"),
        "reclaim": Method(s.reclaim, True, "after the deadline: reclaim (or export it unsigned)"),
        "schedule.pause": Method(s.schedule_pause, True, "build a guardians' pause or resume"),
        "wallet.utxos": Method(s.wallet_utxos, False, "an address's UTxOs (to choose a state seed)"),
        "milestone.cancel": Method(s.milestone_cancel, True, "take a cancelled milestone's allocations back"),
        "attestations": Method(s.attestations, False, "a schedule and its committed signatures"),
        "log.verify": Method(s.log_verify, False, "verify the event log's hash chain"),
        "log.replay": Method(s.log_replay, False, "replay the log into a fresh store and compare"),
        "methods": Method(s.list_methods, False, "the methods of this socket"),
        "recovery.card": Method(s.recovery_card, False, "the recovery card (schedule points, log head)"),
    }
