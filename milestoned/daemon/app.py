"""`milestoned run`: the one place that wires the daemon together, starts it, and stops it cleanly.

Start-up order, and why:
1. logging, then the stores (a store that cannot be opened stops the daemon with the reason, before
   anyone can connect to a socket that would only answer errors);
2. the embedded devnet when configured (so its URL exists), the query link to Ogmios;
3. the command socket and the health/metrics endpoint: from here on operators can ask what is happening,
   even while Ogmios is still unreachable;
4. the projections (as soon as the slot clock is known), the chain follower, the scheduler jobs;
5. READY=1 to systemd, then the watchdog pings from the scheduler.

SIGTERM/SIGINT: STOPPING=1, stop the scheduler, ask the follower to record its cursor and return, close
the socket (in-flight requests finish or are cancelled before committing), catch the projections up, close
the stores. `kill -9` at any moment is safe too: every commit is one log transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from milestoned.contracts.loader import prepare as prepare_scripts
from milestoned.daemon.attestations_method import http_attestations
from milestoned.daemon.http_endpoint import HttpEndpoint, Metrics
from milestoned.daemon.peercred import AdminPolicy
from milestoned.daemon.projection_recovery import open_projections
from milestoned.daemon.query_priority import start_worker_threads
from milestoned.daemon.scheduler_jobs import start_scheduler
from milestoned.daemon.service import READER_THREADS, DaemonService
from milestoned.daemon.socket_server import SocketServer
from milestoned.daemon.systemd import Notifier
from milestoned.eventlog import EventLog, parse_store_url
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore
from milestoned.shared.chain_link import ChainLink
from milestoned.shared.config import DaemonConfig, with_overrides

log = structlog.get_logger("milestoned.daemon")

FOLLOWER_RETRY_S = 5.0
CATCH_UP_BATCH = 200
"""Events per projection transaction: queries read the projections between two (the store's readers wait
while a write transaction is open), so a long catch-up delays an answer by one short batch at most."""
FOLLOWER_STOP_GRACE_S = 3.0
"""A follower in a session returns at once when stopped; one waiting to reconnect is cancelled after this."""


class StartupError(RuntimeError):
    """The daemon cannot start; the message says why and what to do."""


def _prepare_store(config: DaemonConfig, rebuild: bool, start: Any = None) -> Any:
    """Verify the store; a damaged one is moved aside and a recovery from the chain planned (`recovery`).
    The embedded devnet is a new chain at each start: no recovery card can point into it."""
    from milestoned.daemon.recovery import prepare_store
    from milestoned.eventlog.recovery_card import RecoveryCardError

    try:
        return prepare_store(config, force=rebuild, use_card=not config.chain.embedded, start=start)
    except RecoveryCardError as exc:
        raise StartupError(
            f"the recovery card is refused: {exc}; fix or remove store.recovery_card (and the copy in the "
            "data directory), or rebuild from a point with `milestoned rebuild --from SLOT.HASH`"
        ) from None


@dataclass
class RunningDaemon:
    """Handles on a started daemon, for the demo wiring and tests that embed it."""

    service: DaemonService
    socket: SocketServer
    http: HttpEndpoint | None
    stop: asyncio.Event
    devnet: Any = None
    """The embedded `Devnet` (chain control for demos and tests), when chain.ogmios_url is embedded."""
    web: Any = None
    """The web view (`milestoned.web.server.WebServer`) when `[web] listen` is set; `web.url` is its URL."""


def open_stores(config: DaemonConfig) -> tuple[EventLog, ProjectionStore]:
    from milestoned.daemon.recovery import head_file

    try:
        event_log = EventLog(parse_store_url(config.store.log_url), head_file=head_file(config))
    except Exception as exc:
        raise StartupError(
            f"cannot open the event log at {config.store.log_url}: {exc}; check store.url / store.data_dir, "
            "that the directory exists and belongs to the daemon's user (or that PostgreSQL is up)"
        ) from exc
    try:
        projections = open_projections(config.store.projection_url, event_log)
    except Exception as exc:
        event_log.close()
        raise StartupError(f"cannot open the projections at {config.store.projection_url}: {exc}") from exc
    return event_log, projections


@contextlib.asynccontextmanager
async def _embedded_devnet(config: DaemonConfig) -> AsyncIterator[Any]:
    if not config.chain.embedded:
        yield None
        return
    from milestoned.devnet.service import run_devnet
    from milestoned.devnet.store import StateError

    state_dir = config.devnet.state_path(config.store.data_dir)
    try:
        async with run_devnet(
            port=config.devnet.port, slot_length=config.devnet.slot_length, state_dir=state_dir
        ) as devnet:
            log.info("embedded devnet running", ogmios_url=devnet.url, state_dir=str(state_dir))
            yield devnet
    except StateError as exc:
        raise StartupError(f"the embedded devnet cannot start: {exc} ([devnet] state_dir)") from exc


@contextlib.asynccontextmanager
async def running_daemon(
    config: DaemonConfig,
    *,
    notifier: Notifier | None = None,
    rebuild: bool = False,
    rebuild_from: Any = None,
) -> AsyncIterator[RunningDaemon]:
    """The daemon, started, for the duration of the block; stopped gracefully on exit.

    On SQLite it first takes the store's daemon lock (a second daemon on the same file is refused);
    on PostgreSQL it takes part in the leader election (`leadership`)."""
    from milestoned.daemon.leadership import SQLiteDaemonLock, StoreInUseError, describe_self
    from milestoned.eventlog import SQLiteConfig

    try:
        store = parse_store_url(config.store.log_url)
    except ValueError as exc:
        raise StartupError(f"store.url: {exc}") from None
    lock = None
    if isinstance(store, SQLiteConfig):
        lock = SQLiteDaemonLock(store, describe_self(config.socket.path, config.ha.name))
        try:
            lock.acquire()
        except StoreInUseError as exc:
            raise StartupError(str(exc)) from None
    try:
        async with _running_daemon(config, notifier, rebuild, rebuild_from) as daemon:
            yield daemon
    finally:
        if lock is not None:
            lock.release()


@contextlib.asynccontextmanager
async def _running_daemon(
    config: DaemonConfig, notifier: Notifier | None, rebuild: bool, rebuild_from: Any
) -> AsyncIterator[RunningDaemon]:
    notifier = notifier or Notifier()
    recovery = _prepare_store(config, rebuild, rebuild_from)
    if recovery is not None:
        from milestoned.eventlog.recovery_card import point_text

        config = with_overrides(config, chain={"start": point_text(recovery.start)})
    event_log, projections = open_stores(config)
    try:
        async with _embedded_devnet(config) as devnet:
            devnet_url = devnet.url if devnet is not None else None
            url = devnet_url or config.chain.ogmios_url
            link = ChainLink(url, config.chain.cardano_network, config.chain.call_timeout_seconds)
            admins = AdminPolicy.build(
                config.socket.admin_uids, config.socket.admin_gids, config.socket.admin_group
            )
            if devnet is not None and not devnet.restored:
                forget_previous_devnet_chain(event_log)
            service = DaemonService(config, event_log, projections, link, admins)
            service.devnet_url = devnet_url
            service.recovery = recovery
            service.fold()
            service.checks.probe()
            socket_server = SocketServer(
                Path(config.socket.path),
                service.methods(),
                admins,
                mode=config.socket.mode,
                group=config.socket.group,
                max_request_bytes=config.socket.max_request_bytes,
                max_connections=config.socket.max_connections,
                max_connections_per_uid=config.socket.max_connections_per_uid,
                admin_reserved_connections=config.socket.admin_reserved_connections,
                read_timeout=config.socket.read_timeout_seconds,
                idle_timeout=config.socket.idle_timeout_seconds,
                priority=service.priority,
            )
            metrics = Metrics()
            http = (
                HttpEndpoint(
                    config.http.listen,
                    config.http.port,
                    metrics,
                    service.health,
                    service.checks,
                    http_attestations(service),
                )
                if config.http.port
                else None
            )
            web = _web_server(service, config)
            stop = asyncio.Event()
            tasks: list[asyncio.Task[Any]] = []
            scheduler: Any = None
            try:
                # what the follower would otherwise decode at the first registration it meets, in the
                # first blocks of a catch-up while the first clients ask their questions
                await asyncio.to_thread(prepare_scripts)
                # the election's first round before the socket opens: a daemon that can lead answers
                # its first client as the leader, never as a follower of term 0
                await _lead_or_follow(service, url, config, tasks)
                await start_worker_threads(service, READER_THREADS)
                await socket_server.start()
                if http is not None:
                    await http.start()
                if web is not None:
                    await web.start()
                await link.refresh_tip()
                tasks.append(asyncio.create_task(_start_projections(service), name="projections"))
                scheduler = start_scheduler(service, socket_server, metrics, notifier, config)
                notifier.ready(f"serving {config.socket.path}")
                log.info(
                    "milestoned ready",
                    socket_path=config.socket.path,
                    ogmios_url=url,
                    network=config.chain.network,
                    log_position=event_log.head().position,
                )
                yield RunningDaemon(service, socket_server, http, stop, devnet, web)
            finally:
                notifier.stopping()
                log.info("stopping")
                if scheduler is not None:
                    scheduler.shutdown(wait=False)
                await socket_server.stop()
                await service.jobs.cancel_all()
                for task in tasks:
                    if task.get_name() != "follower":
                        task.cancel()
                await _stop_follower(service, tasks)
                await asyncio.gather(*tasks, return_exceptions=True)
                if http is not None:
                    await http.stop()
                if web is not None:
                    await web.stop()
                with contextlib.suppress(Exception):
                    await service.acatch_up()
                await link.reset()
                service.close_threads()
                if service.election is not None:
                    service.election.close()
    finally:
        projections.close()
        event_log.close()
        log.info("stopped")


async def _lead_or_follow(service: DaemonService, url: str, config: DaemonConfig, tasks: list[Any]) -> None:
    """SQLite: this daemon is the only one, the chain follower starts at once. PostgreSQL: one election
    round now (a follower answers at once), then the leadership loop keeps trying or keeps leading."""
    from milestoned.daemon.follower_thread import FollowerThread
    from milestoned.daemon.leadership import PostgresElection, describe_self, refuse_all
    from milestoned.daemon.leadership_loop import LeadershipLoop
    from milestoned.domain.leadership import Leadership, Role
    from milestoned.eventlog import PostgresConfig

    def start_leading() -> None:
        thread = FollowerThread(lambda: _run_follower(service, url, config))
        service.follower_thread = thread
        tasks.append(asyncio.create_task(thread.run(), name="follower"))

    async def stop_leading() -> None:
        await _stop_follower(service, tasks)

    store = service.log.config
    if not isinstance(store, PostgresConfig):
        start_leading()
        return
    election = PostgresElection(
        store, describe_self(config.socket.path, config.ha.name), config.ha.takeover_seconds
    )
    service.election = election
    service.log.fence = refuse_all
    service.leadership = Leadership(Role.FOLLOWER, 0, "")
    loop = LeadershipLoop(service, election, start_leading, stop_leading)
    service.leadership_loop = loop
    try:  # the first round now, so that a daemon that can lead does from its first answer
        outcome = await asyncio.to_thread(election.try_lead)
        if outcome.role is Role.LEADER:
            await loop.take_over(outcome)
        else:
            service.leadership = outcome
    except Exception as exc:  # the loop keeps trying
        log.warning("leader election failed; retrying", error=f"{type(exc).__name__}: {exc}")
    tasks.append(asyncio.create_task(loop.run(), name="leadership"))


async def _stop_follower(service: DaemonService, tasks: list[Any]) -> None:
    """Ask the chain follower to record its cursor and return; cancel it after a grace period."""
    thread = service.follower_thread
    follower_task = next((t for t in tasks if t.get_name() == "follower"), None)
    if thread is None or follower_task is None:
        return
    follower = service.follower
    if follower is not None:
        thread.call(follower.stop)
    try:
        await asyncio.wait_for(asyncio.shield(follower_task), FOLLOWER_STOP_GRACE_S)
    except (TimeoutError, Exception):
        thread.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(follower_task), FOLLOWER_STOP_GRACE_S)
    tasks.remove(follower_task)
    service.follower_thread = None


def _web_server(service: DaemonService, config: DaemonConfig) -> Any:
    """The read-only web view at `[web] listen` (docs/web.md), or None when it is off."""
    if not config.web.listen:
        return None
    from milestoned.web.server import WebServer

    host, port = config.web.address()
    return WebServer(service, host, port)


def forget_previous_devnet_chain(event_log: EventLog) -> None:
    """The embedded devnet started a new chain (none was kept beside the data directory): record that
    the previous one is gone.

    A rollback to the origin undoes every chain fact of the earlier devnet in the projections (and in the
    follower's state), while local facts (schedules, signatures) stay; the follower then syncs the new
    chain from its origin. Without it, the log's points would match nothing on the new chain. Release
    submissions made on the previous chain are recorded as failed: they can never be included in this
    one, and left open they would count as pending (and as reverted confirmations) until the new chain's
    slots passed their validity.
    """
    from milestoned.daemon.local_index import LocalIndex
    from milestoned.eventlog.events import ChainPoint, SubmissionFailed

    cursor = event_log.chain_cursor()
    if cursor is not None and not cursor.is_origin:
        previous = LocalIndex()
        for logged in event_log.iter_events():
            previous.apply(logged.event)
        failed = [
            SubmissionFailed(tx_id=tx_id, reason="made on a previous run's devnet chain, which is gone")
            for tx_id in sorted({*previous.submitted, *previous.intents})
        ]
        event_log.append_rollback(ChainPoint.origin())
        if failed:
            event_log.append(list(failed))
        log.info(
            "embedded devnet: a new chain; recorded a rollback to the origin",
            previous_slot=cursor.slot,
            submissions_closed=len(failed),
        )


async def _start_projections(service: DaemonService) -> None:
    """Start the projector once the slot clock is known (at once on public networks)."""
    assert service.link is not None
    delay = 1.0
    while True:
        try:
            slots = await service.link.slot_config()
            break
        except Exception as exc:
            log.warning("waiting for Ogmios to learn the slot clock", error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
    service.projector = Projector(service.log, service.projections, slots, batch_size=CATCH_UP_BATCH)
    try:
        caught = await service.acatch_up(background=True)
    except Exception as exc:  # in the health answer; the projections job keeps trying
        log.error("projections failing", reason=f"{type(exc).__name__}: {exc}")
        return
    log.info("projections running", events_applied=caught, position=service.projection_position)


def follow_policy(config: DaemonConfig) -> Any:
    """The schedules found on chain this daemon follows: the configured ones, and those whose admin is
    the operator wallet's key (the admin keys the daemon holds)."""
    from milestoned.indexer.discovery import FollowPolicy

    admins = set(config.follow.admin_key_hashes)
    if config.release.wallet_key:
        try:
            from milestoned.txbuilder.signing import key_hash, load_signing_key

            admins.add(key_hash(load_signing_key(config.release.wallet_key)).payload.hex())
        except Exception as exc:  # reported by the release path and doctor; discovery just goes without
            log.warning("the operator wallet key cannot be read to follow its schedules", error=str(exc))
    schedules = set(config.follow.schedule_ids)
    if not config.chain.embedded:  # the schedules of the recovery card were followed before: still are
        from milestoned.daemon.recovery import read_recovery_card

        try:
            card, _ = read_recovery_card(config)
        except Exception:  # refused at start already if it mattered
            card = None
        if card is not None:
            schedules.update(s.schedule_id for s in card.schedules)
    return FollowPolicy(
        everything=config.follow.all,
        admin_key_hashes=frozenset(admins),
        schedule_ids=frozenset(schedules),
    )


async def _run_follower(service: DaemonService, url: str, config: DaemonConfig) -> None:
    """The chain follower, restarted after failures it cannot recover from by itself (logged each time)."""
    from milestoned.contracts.loader import default_blueprint
    from milestoned.indexer.config import FollowerConfig, parse_start_point
    from milestoned.indexer.filter import WatchedContract
    from milestoned.indexer.follower import ChainFollower

    blueprint = default_blueprint()
    contract = WatchedContract(
        blueprint.validator_hash,
        config.chain.cardano_network.pycardano_network,
        blueprint.state_validator_hash,
    )
    follower = ChainFollower(
        service.log,
        contract,
        FollowerConfig(start=parse_start_point(config.chain.start)),
        follow=follow_policy(config),
        network=config.chain.network,
        safe_point=service.priority.pause,
    )
    service.follower = follower
    while True:
        try:
            await follower.run(url)
            return  # stopped
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            service.checks.follower_failed(exc)
            from milestoned.indexer.follower import IntersectionLost

            if service.recovery is not None and isinstance(exc, IntersectionLost):
                service.recovery.state = "refused"
                service.recovery.error = (
                    f"the rebuild's start point ({service.recovery.source}) is not on the node's chain: {exc}"
                )
            log.error(
                "chain follower failed; restarting",
                error=f"{type(exc).__name__}: {exc}",
                retry_in_s=FOLLOWER_RETRY_S,
            )
            await asyncio.sleep(FOLLOWER_RETRY_S)
            if follower._stop.is_set():  # stopped while waiting
                return


async def serve_until_signalled(config: DaemonConfig) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running_daemon(config) as daemon:
        daemon.stop = stop
        await stop.wait()
        log.info("signal received, shutting down")
    return 0


def run_daemon(config: DaemonConfig) -> int:
    try:
        return asyncio.run(serve_until_signalled(config))
    except StartupError as exc:
        log.error("cannot start", reason=str(exc))
        return 1
    except (RuntimeError, OSError) as exc:  # socket in use, HTTP port taken, a folder not writable
        log.error("cannot start", reason=f"{type(exc).__name__}: {exc}")
        return 1
