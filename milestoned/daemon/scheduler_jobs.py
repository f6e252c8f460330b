"""The daemon's periodic jobs: tip and health, projections catch-up, cursor checkpoint, submissions, the
auto-release and anchor jobs, the systemd watchdog.

Why a module of its own: `app` wires the daemon together once; these are what the running daemon does
every few seconds, each guarded so that one failing job is logged and retried at its next tick rather
than stopping the others. Every job that writes first asks `service.leadership.may_write`: a follower
runs the read-only ones (tip, projections) and leaves writing to the leader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from milestoned.daemon.http_endpoint import Metrics
from milestoned.daemon.release_method import release_schedule
from milestoned.daemon.service import DaemonService
from milestoned.daemon.socket_server import SocketServer
from milestoned.daemon.submission_outcomes import submission_outcomes
from milestoned.daemon.submissions import reconcile_open_intents
from milestoned.daemon.systemd import Notifier
from milestoned.shared.config import DaemonConfig

log = structlog.get_logger("milestoned.daemon")

TIP_REFRESH_S = 5.0
CATCH_UP_S = 0.5
CHECKPOINT_S = 30.0
CARD_REFRESH_S = 60.0
"""The recovery card is written when the schedules change, and this often for its log head."""


def start_scheduler(
    service: DaemonService,
    socket_server: SocketServer,
    metrics: Metrics,
    notifier: Notifier,
    config: DaemonConfig,
) -> Any:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler()

    def every(seconds: float, job: Callable[[], Awaitable[None]], name: str, *, now: bool = False) -> None:
        async def guarded() -> None:
            try:
                await job()
            except Exception:
                log.exception("scheduled job failed", job=name)

        first = {"next_run_time": datetime.now(UTC)} if now else {}
        scheduler.add_job(
            guarded, "interval", seconds=seconds, id=name, max_instances=1, coalesce=True, **first
        )

    async def refresh_tip() -> None:
        await asyncio.to_thread(service.checks.probe)  # first: the tip query may wait for a stalled Ogmios
        await service.link.refresh_tip()  # type: ignore[union-attr]
        health = service.health()
        metrics.observe(health)
        metrics.observe_checks(service.checks)
        metrics.requests.set(socket_server.requests_served)
        metrics.request_errors.set(socket_server.requests_failed)
        metrics.observe_socket(socket_server)
        metrics.pending_submissions.set(len(service.index.in_flight))
        metrics.observe_leadership(service.leadership)
        progress = service.follower.progress() if service.follower is not None else None
        if progress is not None:
            metrics.blocks_seen.set(progress.blocks_seen)
            metrics.rollbacks.set(progress.rollbacks_recorded)
            metrics.reconnects.set(progress.reconnects)
            for reason, count in service.follower.discovery_rejections.items():
                metrics.discovery_ignored.labels(reason=reason).set(count)
        notifier.status(f"{health.state}; lag {health.lag_slots} slots; log at {health.log_position}")

    last_card: dict[str, Any] = {"written": 0.0}
    # Whether the settlement job has run with the projections up. Its first tick, at start, usually
    # comes before them and does nothing: the projections job then brings the next one forward, so the
    # intents a crash left open are reconciled at start rather than a settlement interval later.
    settled = {"once": False}

    async def catch_up() -> None:
        from milestoned.daemon.recovery import finish_if_synced, write_card

        if not service.leadership.may_write:  # the leader appends: see how far
            await service.write(lambda: service.log.head(refresh=True))
        await service.afold(background=True)
        failing = service.checks.projections_error is not None
        try:
            if service.may_project:
                await service.acatch_up(background=True)
            else:
                await service.read(service.refresh_projection_position)
        except Exception as exc:  # in the health answer; logged once per failing spell, not every 0.5 s
            if not failing:
                log.error("projections failing", reason=f"{type(exc).__name__}: {exc}")
            return
        if failing:
            log.info("projections recovered")
        if not service.leadership.may_write:
            return
        if not settled["once"] and service.projector is not None:
            settled["once"] = True
            scheduler.modify_job("submissions", next_run_time=datetime.now(UTC))
        if service.recovery is not None and service.recovery.state != "done":
            released = {a.out_ref for a in await service.read(service.projections.claimable) if a.released}
            finish_if_synced(
                service.recovery,
                service.health().ok,
                service.log.head().position,
                lambda: released,
                lambda: set(service.index.schedules),
            )
        if service.recovery is None or service.recovery.state == "done":
            card = service.recovery_card_document()
            now = asyncio.get_running_loop().time()
            changed = card["schedules"] != last_card.get("schedules")
            if card["schedules"] and (changed or now - last_card["written"] >= CARD_REFRESH_S):
                write_card(config, card)
                last_card.update(card, written=now)

    async def checkpoint() -> None:
        follower, thread = service.follower, service.follower_thread
        if follower is not None and thread is not None:
            async with service.write_lock:

                async def on_its_loop() -> None:
                    follower.checkpoint()

                await thread.submit(on_its_loop())

    async def settle_submissions() -> None:
        if service.projector is None or not service.leadership.may_write:  # the projections must be
            return  # current before anything is settled; and only the leader settles
        settled["once"] = True
        async with service.write_lock:
            await service.afold()
            await service.acatch_up()
            await reconcile_open_intents(service)  # sent or not? the mempool and the chain say (a crash)
            rollbacks = service.index.rollbacks
            events = await submission_outcomes(
                service, recheck_confirmed=rollbacks != service.rollbacks_settled
            )
            if events:
                await service.aappend(events)
                log.info("submissions settled", count=len(events))
            service.rollbacks_settled = rollbacks

    async def auto_release() -> None:
        if not service.health().ok or not service.leadership.may_write:
            return
        await service.acatch_up(background=True)
        in_flight = service.index.in_flight_refs()
        due = {
            a.schedule_id
            for a in await service.read(service.projections.claimable)
            if a.claimable_now and a.out_ref not in in_flight
        }
        for schedule_id in sorted(due & set(service.index.schedules)):
            try:
                await release_schedule(service, schedule_id, None, None, False, "auto-release")
            except Exception as exc:
                log.warning("auto-release did not release", schedule_id=schedule_id, reason=str(exc))

    async def watchdog() -> None:
        notifier.watchdog()

    async def anchor() -> None:
        from milestoned.daemon.anchor_job import anchor_head

        if service.health().ok and not service._recovering() and service.leadership.may_write:
            await anchor_head(service)

    every(TIP_REFRESH_S, refresh_tip, "tip")
    every(CATCH_UP_S, catch_up, "projections")
    every(CHECKPOINT_S, checkpoint, "checkpoint")
    every(config.release.settle_seconds, settle_submissions, "submissions", now=True)
    if config.release.auto:
        every(config.release.interval_seconds, auto_release, "auto-release")
    if config.anchor.every_seconds:
        every(config.anchor.every_seconds, anchor, "anchor")
    if notifier.watchdog_seconds:
        every(max(0.5, notifier.watchdog_seconds / 2), watchdog, "watchdog")
    scheduler.start()
    return scheduler
