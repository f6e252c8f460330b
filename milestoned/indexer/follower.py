"""The chain follower: Ogmios chain sync → block filter → event log. The imperative shell of the indexer.

How it keeps the log right through crashes, forks and dropped links:
- A block's events are always written together with the cursor checkpoint at that block, in ONE log
  append (one database transaction). A `kill -9` leaves the block entirely in the log or not at all, and
  the cursor says which, so a restart neither skips nor repeats it.
- Blocks with nothing for us are only counted; the cursor is recorded every `checkpoint_every_blocks`
  blocks or `checkpoint_every_seconds` seconds, so a restart re-reads at most that much (re-reading a block
  with nothing for us writes nothing, so it is harmless).
- At the chain tip each block with events is written at once. While catching up, blocks with events are
  held in memory (already folded into the follower's state) and written together, up to
  `write_batch_blocks` blocks or `checkpoint_every_seconds` at a time, still each followed by its cursor
  and all in one transaction: a commit costs milliseconds, and a crash only loses what a restart re-reads.
  Held blocks are written before a rollback is handled, before a reconnect and on stop.
- On (re)start the follower offers `findIntersection` its in-memory position (after a reconnect), then
  points recorded in the log (kept in memory as the log is folded, see `state`): the 10 newest and
  exponentially older ones over the last `lookback_points` (`intersection.spread`), then the configured
  start point as last resort. With an empty log it starts
  from the configured point (`origin`, `tip` or a slot and hash) and records it at once, so a restart
  before the first block does not start again from a newer tip and miss blocks.
- A RollBackward to a point becomes a `RolledBack` event only when the log has something above that point
  to undo. The RollBackward that always follows `findIntersection` lands on the point we offered, which is
  at or above what the log holds whenever nothing was lost, so it writes nothing; after a fork while we
  were away it lands lower and is recorded like any rollback. Rolling back over blocks that were only
  counted (nothing written) just moves the in-memory cursor.
- A dropped connection raises `OgmiosConnectionError`; `run` reconnects with backoff (`run_with_reconnect`)
  and re-intersects from the in-memory position, so nothing is skipped. A *stalled* connection (no message
  for `stall_timeout_seconds`) is probed with a tip query on the same socket: no answer within
  `probe_timeout_seconds`, or a node tip ahead of us twice in a row while nothing arrives, means stalled,
  and the session is abandoned the same way. Silence at the tip with a live node is just a quiet chain.

Writes are synchronous (SQLite or PostgreSQL, a millisecond or so) and rare: relevant blocks and
checkpoints. Events appended to the log by others (schedules registered through the command socket) are
folded in every `schedule_refresh_seconds` and whenever a write finds the log moved on (the log's
optimistic concurrency check, `AppendConflictError`, then a retry); register a schedule with the daemon
before submitting its registration transaction, as the commands do, so the follower knows its auth token
when the allocations appear.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from milestoned.eventlog.events import (
    ChainCursorCheckpointed,
    ChainEvent,
    ChainPoint,
    Event,
    RolledBack,
    ScheduleDiscovered,
)
from milestoned.eventlog.store import AppendConflictError, EventLog
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.discovery import Discovery, FollowPolicy, Rejection
from milestoned.indexer.filter import WatchedContract, block_events
from milestoned.indexer.intersection import spread
from milestoned.indexer.schedule_state import block_state_events
from milestoned.indexer.state import FollowerState
from milestoned.ogmios.backoff import BackoffPolicy
from milestoned.ogmios.client import OgmiosClient, run_with_reconnect
from milestoned.ogmios.errors import IntersectionNotFound, OgmiosConnectionError, OgmiosError
from milestoned.ogmios.model import ORIGIN, Block, Point, PointOrOrigin, RollBackward, RollForward

log = logging.getLogger(__name__)

MAX_APPEND_ATTEMPTS = 5


class FollowerStalled(OgmiosConnectionError):
    """Chain sync went silent while the node was ahead of us, or the node stopped answering at all."""


class IntersectionLost(RuntimeError):
    """None of the points the log recorded is on the node's chain (wrong network, or a fork deeper than k)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """What the daemon's health answer and metrics show about the follower."""

    position: PointOrOrigin | None
    tip_slot: int | None
    blocks_seen: int
    blocks_written: int
    rollbacks_recorded: int
    reconnects: int


def to_chain_point(point: PointOrOrigin) -> ChainPoint:
    return ChainPoint.origin() if point == ORIGIN else ChainPoint(point.slot, point.id)


def to_ogmios_point(point: ChainPoint) -> PointOrOrigin:
    return ORIGIN if point.is_origin else Point(point.slot, point.header_hash)


class ChainFollower:
    """Follows one Ogmios server into one event log. `await follower.run(url)` until `stop()`."""

    def __init__(
        self,
        event_log: EventLog,
        contract: WatchedContract,
        config: FollowerConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        follow: FollowPolicy | None = None,
        network: str | None = None,
        safe_point: Callable[[], object] | None = None,
    ) -> None:
        self.log = event_log
        self.safe_point = safe_point
        """Called before each block is processed and between the transactions of a block that matter (the
        daemon pauses there for its socket's queries, `daemon.query_priority`): pure work on either side,
        nothing half-written."""
        self.contract = contract
        self.config = config or FollowerConfig()
        self.discovery = Discovery(contract, follow or FollowPolicy(), network=network)
        """Recognises registrations of schedules not registered here (`discovery`); `follow` says which."""
        self.discovery_rejections: dict[str, int] = {}
        """Registration metadata met and ignored, by reason (the daemon's metrics show it)."""
        self._clock = clock
        self.state = FollowerState(lookback=self.config.lookback_points)
        self.position: PointOrOrigin | None = None
        """The in-memory cursor: the last block processed (may be ahead of the last one recorded)."""
        self.tip_slot: int | None = None
        self.blocks_seen = 0
        self.blocks_written = 0
        self.rollbacks_recorded = 0
        self.sessions = 0
        self.messages = 0
        """Chain-sync answers received (the watchdog's sign of life)."""
        self._interrupt: FollowerStalled | str | None = None
        self._unrecorded_blocks = 0
        self._last_checkpoint = clock()
        self._held: list[Event] = []
        """Events (and cursors) of processed blocks not yet appended; see `flush`."""
        self._held_blocks = 0
        self._held_since = clock()
        self._last_refresh = clock()
        self._stop = asyncio.Event()
        self._reload = False
        """Set when a write failed: the state is rebuilt from the log before the next session."""
        self.fold_log()

    # --- public API -------------------------------------------------------------------------------------

    async def run(
        self,
        url: str,
        *,
        policy: BackoffPolicy | None = None,
        max_reconnects: int | None = None,
        **connect: Any,
    ) -> None:
        """Follow the chain at `url` until `stop()`, reconnecting whenever the connection drops or stalls.

        A failure of the event log (disk full, database down) is not retried here: it propagates, and the
        follower rebuilds its state from the log when `run` is called again. `stop()` returns from a
        connected session; while Ogmios is unreachable `run` keeps retrying, so cancel its task to give up.
        """
        self._stop.clear()
        await run_with_reconnect(
            url,
            self.follow,
            policy=policy,
            max_reconnects=max_reconnects,
            in_flight=self.config.in_flight,
            **connect,
        )

    def stop(self) -> None:
        """Ask `run`/`follow` to record the cursor and return (safe to call from a signal handler's task)."""
        self._stop.set()

    def progress(self) -> Progress:
        return Progress(
            self.position,
            self.tip_slot,
            self.blocks_seen,
            self.blocks_written,
            self.rollbacks_recorded,
            max(0, self.sessions - 1),
        )

    async def follow(self, client: OgmiosClient) -> None:
        """One session on a connected client: intersect, then process blocks until stopped or disconnected."""
        self.sessions += 1
        if self._reload:
            self._reload_from_log()
        self.fold_log()
        points = await self.intersection_candidates(client)
        try:
            intersection = await client.find_intersection(points)
        except IntersectionNotFound as exc:
            raise IntersectionLost(
                f"none of the {len(points)} points the event log recorded (newest slot "
                f"{_slot(points[0])}) is on the chain of the node behind Ogmios (tip {exc.tip}); "
                "check that Ogmios serves the network this log was built on, or start a new log"
            ) from exc
        log.info("chain sync intersects at %s (node tip %s)", intersection.point, intersection.tip)
        if self.state.written is None:  # first start: record where we start, so a restart resumes there
            self._hold(to_chain_point(intersection.point), (), self._clock())
            self.flush()
        self._interrupt = None
        main = asyncio.current_task()
        assert main is not None
        watchdog = asyncio.create_task(self._watch(client, main), name="indexer-watchdog")
        try:
            while not self._stop.is_set():
                try:
                    result = await client.next_block()
                except asyncio.CancelledError:
                    if self._interrupt is None:
                        raise  # cancelled from outside (shutdown): not ours to swallow
                    main.uncancel()
                    if isinstance(self._interrupt, FollowerStalled):
                        raise self._interrupt from None
                    break  # stop() while waiting for a block
                self.messages += 1
                if self.safe_point is not None:
                    self.safe_point()
                if isinstance(result, RollForward):
                    self.tip_slot = result.tip.slot
                    self.roll_forward(result.block, at_tip=result.tip.id == result.block.id)
                else:
                    self.roll_backward(result)
        finally:
            watchdog.cancel()
            self.checkpoint()  # held blocks and the cursor, on stop and before a reconnect alike

    # --- the steps (synchronous, so tests can drive them directly) ---------------------------------------

    def roll_forward(self, block: Block, *, at_tip: bool = True) -> None:
        """Process one block. `at_tip=False` (catching up) lets blocks with events wait in memory for one
        write of up to `write_batch_blocks` blocks; at the tip they are written at once."""
        slot = block.slot
        if slot is None:  # a Byron epoch-boundary block has no slot of its own: nothing to record
            return
        self.blocks_seen += 1
        now = self._clock()
        # A schedule registered through this process's log (the daemon shares it) shows in the cached
        # head at no cost: fold it in before this block, which may hold its registration. Other
        # processes' appends are found every `schedule_refresh_seconds`.
        if (
            self.log.head().position > self.state.position
            or now - self._last_refresh >= self.config.schedule_refresh_seconds
        ):
            self.fold_log()
        events = block_events(
            block,
            self.contract,
            self.state.schedules,
            self.state.open_allocations,
            safe_point=self.safe_point,
            beneficiaries=self.state.beneficiaries,
        )
        found, rejections = self.discovery.block_events(
            block, self.state.schedules, self.state.registration_parts, safe_point=self.safe_point
        )
        if found:
            events = [*events, *found]
            if self.contract.state_validator_hash:  # a state created in the block that completed them
                new = {e.schedule_id for e in found if isinstance(e, ScheduleDiscovered)}
                events += block_state_events(block, new, self.contract.state_validator_hash)
        for rejection in rejections:
            self._rejected(rejection)
        self._unrecorded_blocks += 1
        if (
            events
            or self._unrecorded_blocks >= self.config.checkpoint_every_blocks
            or now - self._last_checkpoint >= self.config.checkpoint_every_seconds
        ):
            # Only now the validated log value: most blocks are neither relevant nor checkpointed.
            self._hold(ChainPoint(slot, block.id), events, now)
        if self._held and (
            at_tip
            or self._held_blocks >= self.config.write_batch_blocks
            or now - self._held_since >= self.config.checkpoint_every_seconds
        ):
            self.flush()
        # After the flush: the daemon's health reads this position from another thread, and a client
        # that sees the indexer at the node's tip (synced) must find the tip's events in the log, not
        # still on their way to it (catching up, below the tip, blocks may wait in memory by design).
        self.position = Point(slot, block.id)

    def _rejected(self, rejection: Rejection) -> None:
        self.discovery_rejections[rejection.reason] = self.discovery_rejections.get(rejection.reason, 0) + 1
        log.info(
            "registration metadata ignored (%s) in %s: %s",
            rejection.reason,
            rejection.tx_id,
            rejection.message,
            extra={
                "reason": rejection.reason,
                "tx_id": rejection.tx_id,
                "schedule_id": rejection.schedule_id,
            },
        )

    def roll_backward(self, backward: RollBackward) -> None:
        self.flush()
        point = to_chain_point(backward.point)
        written = self.state.written
        if written is not None and written.slot > point.slot:
            self._held.append(RolledBack(point=point))
            self.state.apply(RolledBack(point=point))
            self.flush()
            self.rollbacks_recorded += 1
            log.info("rolled back to %s", point)
        self.position = backward.point
        self._unrecorded_blocks = 0

    def checkpoint(self) -> None:
        """Write what is held, and the in-memory cursor if the log is behind it (on stop, and on demand)."""
        if self._reload:
            return  # a write failed: nothing in memory can be trusted until the state is rebuilt
        if self.position is not None:
            point = to_chain_point(self.position)
            if self.state.written != point:
                self._hold(point, (), self._clock())
        self.flush()

    def flush(self) -> None:
        """Append everything held, as ONE log transaction: each block's events followed by its cursor."""
        if not self._held:
            return
        batch = self._held
        try:
            for attempt in range(MAX_APPEND_ATTEMPTS):
                try:
                    head = self.log.append(batch)
                    break
                except AppendConflictError:
                    if attempt + 1 == MAX_APPEND_ATTEMPTS:
                        raise
                    log.info("another writer appended to the log; folding its events in and retrying")
                    self._fold(until=self.log.head(refresh=True).position)
        except BaseException:
            # The held events are in our state but not in the log: forget both, and rebuild the state
            # from the log (the one truth) before the next session.
            self._held, self._held_blocks = [], 0
            self._reload = True
            raise
        self._fold(until=head.position - len(batch))  # other writers' events just before ours
        self.state.position = head.position  # ours are folded in already (see `_hold`)
        self.blocks_written += self._held_blocks
        self._held = []
        self._held_blocks = 0

    def _reload_from_log(self) -> None:
        log.warning("rebuilding the follower's state from the event log after a failed write")
        self.state = FollowerState(lookback=self.config.lookback_points)
        self.position = None
        self._reload = False
        self.fold_log()

    def fold_log(self) -> None:
        """Fold in what other writers appended since we last looked (schedules registered meanwhile)."""
        self._last_refresh = self._clock()
        self._fold(until=None)

    def _fold(self, until: int | None) -> None:
        while until is None or self.state.position < until:
            limit = 1000 if until is None else min(1000, until - self.state.position)
            batch = self.log.read(after=self.state.position, limit=limit)
            for logged in batch:
                self.state.apply(logged.event)
                self.state.position = logged.position
            if len(batch) < limit:
                return

    def recorded_intersection_points(self) -> list[PointOrOrigin]:
        """Points the log recorded on the current chain, spread out Kupo-style, newest first."""
        return [to_ogmios_point(p) for p in spread(list(reversed(self.state.recent_points)))]

    async def intersection_candidates(self, client: OgmiosClient) -> list[PointOrOrigin]:
        """Newest first: the in-memory cursor, the log's recorded points, then the configured start."""
        candidates: list[PointOrOrigin] = []
        if self.position is not None:
            candidates.append(self.position)
        for point in self.recorded_intersection_points():
            if point not in candidates:
                candidates.append(point)
        start = self.config.start
        if not candidates or start != "tip":
            if start == "tip":
                tip = await client.network_tip()
                start = tip
            if start not in candidates:
                candidates.append(start)
        return candidates

    # --- writing ------------------------------------------------------------------------------------------

    def _hold(self, point: ChainPoint, events: Sequence[ChainEvent], now: float) -> None:
        """Queue a block's events and its cursor for the next `flush`, and fold them in now: the filter
        must already see allocations locked in held blocks when it meets their release."""
        if not self._held:
            self._held_since = now
        checkpoint = ChainCursorCheckpointed(point=point)
        self._held.extend(events)
        self._held.append(checkpoint)
        self.state.apply_all(events)
        self.state.apply(checkpoint)
        self._held_blocks += 1 if events else 0
        self._unrecorded_blocks = 0
        self._last_checkpoint = now

    # --- stall detection --------------------------------------------------------------------------------

    async def _watch(self, client: OgmiosClient, main: asyncio.Task[Any]) -> None:
        """Interrupt the session's wait for a block when `stop()` is called or the link has stalled.

        Why a separate task: the block loop then awaits `next_block()` directly, with no timer or extra
        future per block (at thousands of blocks per second that overhead shows). The interruption is a
        cancellation of the loop's task, which only ever waits in `next_block()`; a block whose answer is
        lost that way was not processed, so neither stopping nor reconnecting skips it.
        """
        stopping = asyncio.ensure_future(self._stop.wait())
        ahead_before = False
        seen = self.messages
        try:
            while True:
                done, _ = await asyncio.wait({stopping}, timeout=self.config.stall_timeout_seconds)
                if done:
                    self._interrupt = "stop"
                    main.cancel()
                    return
                if self.messages != seen:
                    seen, ahead_before = self.messages, False
                    continue
                try:
                    ahead_before = await self._probe(client, ahead_before)
                except OgmiosConnectionError as stalled:  # FollowerStalled, or the socket died meanwhile
                    log.warning("%s", stalled)
                    self._interrupt = FollowerStalled(str(stalled))
                    main.cancel()
                    return
        finally:
            stopping.cancel()

    async def _probe(self, client: OgmiosClient, ahead_before: bool) -> bool:
        """Called after `stall_timeout_seconds` of silence. Returns whether the node is ahead of us."""
        try:
            tip = await asyncio.wait_for(client.network_tip(), self.config.probe_timeout_seconds)
        except TimeoutError:
            raise FollowerStalled(
                f"no chain-sync message for {self.config.stall_timeout_seconds:g} s and no answer to a tip "
                f"query within {self.config.probe_timeout_seconds:g} s; reconnecting"
            ) from None
        except OgmiosError as exc:  # the node answered, if only with an error: the link is alive
            log.info("tip probe answered with an error (%s); treating the link as alive", exc)
            return False
        ahead = tip != ORIGIN and (self.position is None or tip.slot > _slot(self.position))
        if ahead and ahead_before:
            raise FollowerStalled(
                f"the node's tip (slot {_slot(tip)}) is ahead of us (slot {_slot(self.position)}) but chain "
                f"sync sent nothing for {2 * self.config.stall_timeout_seconds:g} s; reconnecting"
            )
        return ahead


def _slot(point: PointOrOrigin | None) -> int:
    return -1 if point is None or point == ORIGIN else point.slot
