"""The daemon's service: the state the socket's handlers share (log, projections, local index, locks,
worker threads) and one entry per JSON-RPC method. Most handlers live in a module per command
(`*_method`, `query_methods`, `log_methods`) and are reached through the thin entries here; the method
table and its guard for changing methods are in `method_table`.

Rules every handler follows:
- validate everything first, with the domain's own checks, and refuse with a clear error naming what was
  wrong and how to fix it; only then append;
- append a command's events in ONE `EventLog.append` under the write lock, after folding the log, so a
  request either committed entirely or not at all, and a repeated command (same schedule, same oracle
  signature) is answered "already committed" without a second event;
- after a commit, bring the projections up to date before answering, so the next query sees it;
- queries never write.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from milestoned.daemon import (
    jsonrpc,
    log_methods,
    query_methods,
    registration_method,
    release_method,
    signature_method,
)
from milestoned.daemon.chain_calls import on_chain
from milestoned.daemon.health import Health, assess
from milestoned.daemon.health_checks import HealthChecks, sqlite_folders
from milestoned.daemon.jobs import Jobs
from milestoned.daemon.jsonrpc import RpcError, only_params
from milestoned.daemon.local_index import LocalIndex
from milestoned.daemon.method_table import socket_methods
from milestoned.daemon.peercred import AdminPolicy, Peer
from milestoned.daemon.query_priority import QueryPriority
from milestoned.daemon.schedule_upload import ScheduleUploads
from milestoned.daemon.socket_server import Method
from milestoned.domain.leadership import Leadership, Role
from milestoned.eventlog import EventLog
from milestoned.eventlog.events import Event
from milestoned.projections.projector import Projector
from milestoned.projections.readmodels import ProjectionSummary
from milestoned.projections.store import ProjectionStore
from milestoned.shared.chain_link import ChainLink
from milestoned.shared.config import DaemonConfig

T = TypeVar("T")
READER_THREADS = 4
FOLD_BATCH = 1000
BACKGROUND_FOLD_BATCH = 250


class DaemonService:
    """The daemon's state as the handlers see it. Its handlers run on the daemon's event loop; every
    store call they make runs in a worker thread (`write`, `read`, `afold`, `acatch_up`, `aappend`), so a
    long catch-up or a slow database never holds up a socket answer, a health answer or a watchdog ping.

    Threads: one writer thread (appends and projection writes, in order) and a few readers (queries;
    SQLite in WAL mode and PostgreSQL both let readers run beside a writer). The local index is only
    changed on the event loop (`afold` reads in a thread and applies on the loop), so handlers read it
    without locks.
    """

    def __init__(
        self,
        config: DaemonConfig,
        event_log: EventLog,
        projections: ProjectionStore,
        link: ChainLink | None,
        admins: AdminPolicy,
    ) -> None:
        self.config = config
        self.log = event_log
        self.projections = projections
        self.link = link
        self.admins = admins
        self.projector: Projector | None = None
        self.follower: Any = None
        self.devnet_url: str | None = None
        self.ogmios_url = link.url if link is not None else config.chain.ogmios_url
        self.index = LocalIndex()
        self.uploads = ScheduleUploads()
        self.jobs = Jobs()
        self.write_lock = asyncio.Lock()
        self.release_lock = asyncio.Lock()
        """Serialises building releases (which must not pick the same allocations twice); held without
        the write lock, so that the scheduler's jobs keep running during a long release."""
        self.started = time.time()
        self.wallet: Any = None  # (signing key, address) once loaded
        self.checks = HealthChecks(sqlite_folders(event_log.config, projections.config))
        """Store writability, projection and follower failures, for the health answer."""
        self.recovery: Any = None
        """A `recovery.Recovery` while the log is rebuilt from the chain (changes are refused)."""
        self.rollbacks_settled = -1
        """`index.rollbacks` when confirmed submissions were last checked against the chain (-1: never,
        so the first settlement after a start checks them once)."""
        self.leadership = Leadership(Role.SINGLE, 0)
        """Leader, follower or the single daemon of an SQLite store, and the term (`daemon.leadership`)."""
        self.projections_shared = projections.config == event_log.config
        """The projections are tables of the log's own PostgreSQL schema, written by the leader alone."""
        self.election: Any = None
        """The PostgreSQL election (`leadership.PostgresElection`); None on SQLite."""
        self.leadership_loop: Any = None
        self.follower_thread: Any = None
        """The chain follower's thread (`follower_thread.FollowerThread`) while this daemon writes."""
        self.pending_anchor: list[Any] = []
        """The last head anchor submitted (`anchor_job`): the next one spends its change, not its inputs."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="milestoned-store-write")
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="milestoned-store-read")
        self._catch_up_lock = threading.Lock()
        self.priority = QueryPriority()
        """Read-only socket requests being answered; the follower and the projections job pause for them."""
        self._fold_lock = asyncio.Lock()
        self.projection_position: int | None = None
        """The projections' position as of the last catch-up (health reads this, not the database)."""
        self.projection_summary: tuple[int, ProjectionSummary] | None = None
        """(position, the projections' tip and paused schedules at it), noted with the position by a
        catch-up, so that `status` answers without a trip to a worker thread (queued behind other
        answers)."""
        try:
            self.note_projections()
        except Exception as exc:  # a corrupt projection store: the health answer says so
            self.checks.projections_failed(exc)

    # --- off the event loop ------------------------------------------------------------------------------

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store write (or a read that must follow the writes in order) in the writer thread."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, functools.partial(fn, *args))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store read in a reader thread."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, functools.partial(fn, *args))

    async def afold(self, *, background: bool = False) -> None:
        """Bring the local index up to the log's head: read in a thread, apply on the loop.
        `background` (the projections job, while the follower records a catch-up): smaller batches, each
        after a pause for the socket's queries (`query_priority`); decoding a thousand events is
        milliseconds of the interpreter lock that a query would otherwise wait behind. The pause is
        taken without the fold lock, so a query that folds itself (`schedules`, a change's own events)
        takes the lock between two background batches instead of waiting out their pauses."""
        limit = BACKGROUND_FOLD_BATCH if background else FOLD_BATCH
        while True:
            if background:
                await self.read(self.priority.pause)
            async with self._fold_lock:
                batch = await self.read(self.log.read, self.index.position, limit)
                for logged in batch:
                    if logged.position <= self.index.position:
                        continue
                    self.index.apply(logged.event)
                    self.index.position = logged.position
            if len(batch) < limit:
                return

    async def acatch_up(self, *, wait: bool = True, background: bool = False) -> int:
        """Catch the projections up in a worker thread (not the writer: a log append waiting for a slow
        database must not hold up a query's catch-up). `wait=False` (queries): when a catch-up is
        already under way, answer at once from the projections as they are instead of waiting for it.
        `background` (the projections job): pause between batches while socket queries are answered."""
        if self.projector is None or not self.may_project:
            return 0
        if not wait and self._catch_up_lock.locked():
            return 0
        return await self.read(functools.partial(self.catch_up, wait, background=background))

    async def aappend(self, events: list[Event]) -> int:
        """`append` off the loop: the append in the writer thread, then the index and the projections."""
        try:
            head = await self.write(self.log.append, events)
        except Exception as exc:
            self.checks.store_write_failed(exc)
            raise
        self.checks.store_write_ok()
        await self.afold()
        await self.acatch_up()
        return head.position

    @property
    def may_project(self) -> bool:
        """A follower leaves shared projection tables to the leader (it would race it for each batch)."""
        return self.leadership.may_write or not self.projections_shared

    def projections_snapshot(self) -> tuple[bytes, int]:
        """The projections' dump and its position, with no catch-up in between (a worker thread)."""
        with self._catch_up_lock:
            return self.projections.dump(), self.projections.position()

    def close_threads(self) -> None:
        self._readers.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True)

    # --- shared steps (synchronous: for the threads above and for tests driving the service) ------------

    def fold(self) -> None:
        while True:
            batch = self.log.read(after=self.index.position, limit=1000)
            for logged in batch:
                self.index.apply(logged.event)
                self.index.position = logged.position
            if len(batch) < 1000:
                return

    @property
    def catching_up(self) -> bool:
        """Whether a catch-up is under way (a query then answers without starting another)."""
        return self._catch_up_lock.locked()

    def catch_up(self, wait: bool = True, batches: int | None = None, *, background: bool = False) -> int:
        """Apply what the log has beyond the projections (one catch-up at a time; with `wait=False`,
        none when another is under way); with `batches`, at most that many of the projector's batches
        (a query's bounded catch-up, see query_methods); `background`: pausing between batches for the
        socket's queries (`query_priority`; never inside a query, which would wait for itself)."""
        if self.projector is None or not self.may_project:
            return 0
        if not self._catch_up_lock.acquire(blocking=wait):
            return 0
        try:
            try:
                between = self.priority.pause if background else None
                applied = self.projector.catch_up(batches, between)
                self.note_projections()
            except Exception as exc:
                self.checks.projections_failed(exc)
                self.projection_position = None
                raise
        finally:
            self._catch_up_lock.release()
        self.checks.projections_ok()
        return applied

    def note_projections(self) -> None:
        """Read the projections' position and summary (in a worker thread, under the catch-up lock or
        before serving: nothing moves them in between)."""
        position = self.projections.position()
        self.projection_summary = (position, self.read_projection_summary())
        self.projection_position = position

    def read_projection_summary(self) -> ProjectionSummary:
        """The projections' chain tip and paused schedules, read now (in a worker thread)."""
        return ProjectionSummary(self.projections.chain_tip(), self.projections.paused_schedules())

    def refresh_projection_position(self) -> None:
        """For a follower whose projections the leader writes: their position, read (in a thread)."""
        try:
            self.projection_position = self.projections.position()
        except Exception as exc:
            self.checks.projections_failed(exc)
            self.projection_position = None

    def append(self, events: list[Event]) -> int:
        """Append a command's events in one transaction; returns the new head position."""
        try:
            head = self.log.append(events)
        except Exception as exc:
            self.checks.store_write_failed(exc)
            raise
        self.checks.store_write_ok()
        self.fold()
        self.catch_up()
        return head.position

    def health(self) -> Health:
        progress = self.follower.progress() if self.follower is not None else None
        indexer_slot = None
        if progress is not None and progress.position is not None:
            indexer_slot = -1 if progress.position == "origin" else progress.position.slot
        if self.leadership.role is Role.FOLLOWER:  # the leader's indexer: as far as the log recorded
            indexer_slot = self.index.last_point.slot if self.index.position else None
        connected = self.link is not None and self.link.connected
        projection_position = self.projection_position
        return assess(
            connected=connected,
            node_tip_slot=self.link.tip_slot if self.link is not None else None,
            indexer_slot=indexer_slot,
            log_position=self.log.head().position,
            projection_position=projection_position,
            problems=self.checks.problems(),
            role=self.leadership.role.value,
            term=self.leadership.term,
        )

    def methods(self) -> dict[str, Method]:
        """The socket's method table (`method_table`), changing methods guarded."""
        return socket_methods(self)

    # --- queries -----------------------------------------------------------------------------------------

    async def list_methods(self, params: dict[str, Any], peer: Peer) -> Any:
        only_params(params, set())
        admin = self.admins.is_admin(peer)
        return [
            {"method": name, "mutating": m.mutating, "allowed": admin or not m.mutating, "summary": m.summary}
            for name, m in sorted(self.methods().items())
        ]

    async def health_method(self, params: dict[str, Any], peer: Peer) -> Any:
        only_params(params, set())
        answer = self.health().to_json()
        if self._recovering():
            answer["state"] = "recovering"
            answer["recovery"] = self.recovery.to_json()
        return answer

    def _recovering(self) -> bool:
        return self.recovery is not None and self.recovery.state != "done"

    def recovery_card_document(self) -> dict[str, Any]:
        from milestoned.eventlog.recovery_card import build_card

        index = self.index
        card = build_card(
            self.config.chain.network,
            self.log.head(),
            index.schedules,
            index.registered_at,
            index.rebuild_from,
        )
        return card.to_document()

    async def recovery_card(self, params: dict[str, Any], peer: Peer) -> Any:
        only_params(params, set())
        await self.afold()
        return self.recovery_card_document()

    async def status(self, params: dict[str, Any], peer: Peer) -> Any:
        return await query_methods.status(self, params, peer)

    async def schedules(self, params: dict[str, Any], peer: Peer) -> Any:
        return await query_methods.schedules(self, params, peer)

    async def milestones(self, params: dict[str, Any], peer: Peer) -> Any:
        return await query_methods.milestones(self, params, peer)

    async def claimable(self, params: dict[str, Any], peer: Peer) -> Any:
        return await query_methods.claimable(self, params, peer)

    async def submissions(self, params: dict[str, Any], peer: Peer) -> Any:
        return await query_methods.submissions(self, params, peer)

    # --- schedule registration (registration_method) -------------------------------------------------------

    async def schedule_register(self, params: dict[str, Any], peer: Peer) -> Any:
        return await registration_method.schedule_register(self, params, peer)

    async def schedule_upload(self, params: dict[str, Any], peer: Peer) -> Any:
        return self.uploads.add(params)

    async def _tx_chain(self) -> Any:
        if self.link is None:
            raise RpcError(jsonrpc.NOT_READY, "the daemon has no Ogmios link", "set chain.ogmios_url")
        return await on_chain(self.link, self.link.tx_chain())

    # --- oracle signatures ---------------------------------------------------------------------------------

    async def signature_commit(self, params: dict[str, Any], peer: Peer) -> Any:
        return await signature_method.signature_commit(self, params, peer)

    # --- releases ----------------------------------------------------------------------------------------

    def _load_wallet(self) -> tuple[Any, Any]:
        if self.wallet is not None:
            return self.wallet
        if not self.config.release.wallet_key:
            raise RpcError(
                jsonrpc.TX_UNAVAILABLE,
                "no operator wallet is configured, so the daemon cannot pay for or sign this transaction",
                "set release.wallet_key to a cardano-cli payment .skey (chmod 600) and restart; or, for a "
                "reclaim or a cancellation, have it built unsigned for the admin's wallet (`--admin-address "
                "ADDR --unsigned-out PATH`); or let the beneficiaries claim from their own wallets "
                "(`milestonectl attestations export`, then `milestonectl claim`; docs/operations.md)",
            )
        from pycardano import Address

        from milestoned.txbuilder.errors import SigningError
        from milestoned.txbuilder.signing import key_hash, load_signing_key

        try:
            key = load_signing_key(self.config.release.wallet_key)
        except (SigningError, OSError, ValueError) as exc:
            raise RpcError(jsonrpc.TX_UNAVAILABLE, f"the operator wallet key cannot be used: {exc}") from None
        network = self.config.chain.cardano_network.pycardano_network
        self.wallet = (key, Address(key_hash(key), network=network))
        return self.wallet

    async def release(self, params: dict[str, Any], peer: Peer) -> Any:
        return await release_method.release(self, params, peer)

    async def job(self, params: dict[str, Any], peer: Peer) -> Any:
        return await release_method.job(self, params, peer)

    async def list_jobs(self, params: dict[str, Any], peer: Peer) -> Any:
        return await release_method.list_jobs(self, params, peer)

    async def attestations(self, params: dict[str, Any], peer: Peer) -> Any:
        from milestoned.daemon.attestations_method import attestations

        return await attestations(self, params, peer)

    async def reclaim(self, params: dict[str, Any], peer: Peer) -> Any:
        from milestoned.daemon.reclaim_method import reclaim

        return await reclaim(self, params, peer)

    async def schedule_pause(self, params: dict[str, Any], peer: Peer) -> Any:
        from milestoned.daemon.pause_method import schedule_pause

        return await schedule_pause(self, params, peer)

    async def wallet_utxos(self, params: dict[str, Any], peer: Peer) -> Any:
        from milestoned.daemon.wallet_method import wallet_utxos

        return await wallet_utxos(self, params, peer)

    async def milestone_cancel(self, params: dict[str, Any], peer: Peer) -> Any:
        from milestoned.daemon.cancel_method import cancel

        return await cancel(self, params, peer)

    async def tx_submit(self, params: dict[str, Any], peer: Peer) -> Any:
        from milestoned.daemon.tx_submit_method import tx_submit

        return await tx_submit(self, params, peer)

    # --- auditing ----------------------------------------------------------------------------------------

    async def log_verify(self, params: dict[str, Any], peer: Peer) -> Any:
        return await log_methods.log_verify(self, params, peer)

    async def log_replay(self, params: dict[str, Any], peer: Peer) -> Any:
        return await log_methods.log_replay(self, params, peer)
