"""The chain follower: Ogmios chain sync → block filter → event log. The imperative shell of the indexer.

How it keeps the log right through crashes, forks and dropped links:
- Each block with events for us is written as ONE log append: its events plus the cursor checkpoint
  (`EventLog.append_block`). A `kill -9` leaves the block entirely in the log or not at all, and the
  cursor says which, so a restart neither skips nor repeats it.
- Blocks with nothing for us are only counted; the cursor is recorded every `checkpoint_every_blocks`
  blocks or `checkpoint_every_seconds` seconds, so a restart re-reads at most that much (re-reading a block
  with nothing for us writes nothing, so it is harmless).
- On (re)start the follower offers `findIntersection` its in-memory position (after a reconnect), then
  points recorded in the log: the 10 newest and exponentially older ones over the last `lookback_points`
  (`intersection.spread`), then the configured start point as last resort. With an empty log it starts
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
folded in every `schedule_refresh_seconds` and before every write; register a schedule with the daemon
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

from milestoned.eventlog.cursor import live_points_newest_first
from milestoned.eventlog.events import ChainEvent, ChainPoint
from milestoned.eventlog.store import AppendConflictError, EventLog
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.filter import WatchedContract, block_events, block_point
from milestoned.indexer.intersection import spread
from milestoned.indexer.state import FollowerState
from milestoned.ogmios.backoff import BackoffPolicy
from milestoned.ogmios.client import OgmiosClient, run_with_reconnect
from milestoned.ogmios.errors import IntersectionNotFound, OgmiosConnectionError, OgmiosError
from milestoned.ogmios.model import ORIGIN, Block, NextBlock, Point, PointOrOrigin, RollBackward, RollForward

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
    ) -> None:
        self.log = event_log
        self.contract = contract
        self.config = config or FollowerConfig()
        self._clock = clock
        self.state = FollowerState()
        self.position: PointOrOrigin | None = None
        """The in-memory cursor: the last block processed (may be ahead of the last one recorded)."""
        self.tip_slot: int | None = None
        self.blocks_seen = 0
        self.blocks_written = 0
        self.rollbacks_recorded = 0
        self.sessions = 0
        self._unrecorded_blocks = 0
        self._last_checkpoint = clock()
        self._last_refresh = clock()
        self._stop = asyncio.Event()
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
        """Follow the chain at `url` until `stop()`, reconnecting whenever the connection drops or stalls."""
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
        if self.state.written is None:
            self._append_block(to_chain_point(intersection.point), ())
        pending: asyncio.Future[NextBlock] | None = None
        stopping = asyncio.ensure_future(self._stop.wait())
        ahead_before = False
        try:
            while not self._stop.is_set():
                if pending is None:
                    pending = asyncio.ensure_future(client.next_block())
                waiters: set[asyncio.Future[Any]] = {pending, stopping}
                done, _ = await asyncio.wait(
                    waiters,
                    timeout=self.config.stall_timeout_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if pending in done:
                    result, pending = pending.result(), None
                    ahead_before = False
                    if isinstance(result, RollForward):
                        self.tip_slot = result.tip.slot
                        self.roll_forward(result.block)
                    else:
                        self.roll_backward(result)
                elif not done:
                    ahead_before = await self._probe(client, ahead_before)
            self.checkpoint()
        finally:
            stopping.cancel()
            if pending is not None:
                pending.cancel()

    # --- the steps (synchronous, so tests can drive them directly) ---------------------------------------

    def roll_forward(self, block: Block) -> None:
        point = block_point(block)
        if point is None:  # a Byron epoch-boundary block has no slot of its own: nothing to record
            return
        self.blocks_seen += 1
        now = self._clock()
        if now - self._last_refresh >= self.config.schedule_refresh_seconds:
            self.fold_log()
        events = block_events(block, self.contract, self.state.schedules, self.state.open_allocations)
        self.position = Point(point.slot, point.header_hash)
        self._unrecorded_blocks += 1
        if events:
            self._append_block(point, events, block)
        elif (
            self._unrecorded_blocks >= self.config.checkpoint_every_blocks
            or now - self._last_checkpoint >= self.config.checkpoint_every_seconds
        ):
            self._append_block(point, (), block)

    def roll_backward(self, backward: RollBackward) -> None:
        point = to_chain_point(backward.point)
        written = self.state.written
        if written is not None and written.slot > point.slot:
            self._append_rollback(point)
        self.position = backward.point
        self._unrecorded_blocks = 0

    def checkpoint(self) -> None:
        """Record the in-memory cursor if it is ahead of the log (on stop, and on the checkpoint clock)."""
        if self.position is None:
            return
        point = to_chain_point(self.position)
        if self.state.written != point:
            self._append_block(point, ())

    def fold_log(self) -> None:
        """Fold in whatever the log gained since we last looked (our own writes and other writers')."""
        self._last_refresh = self._clock()
        while True:
            batch = self.log.read(after=self.state.position, limit=1000)
            for logged in batch:
                self.state.apply(logged.event)
                self.state.position = logged.position
            if len(batch) < 1000:
                return

    def intersection_candidates_from_log(self) -> list[PointOrOrigin]:
        recorded: list[ChainPoint] = []
        for point in live_points_newest_first(e.event for e in self.log.iter_newest_first(batch_size=500)):
            recorded.append(point)
            if len(recorded) >= self.config.lookback_points:
                break
        return [to_ogmios_point(p) for p in spread(recorded)]

    async def intersection_candidates(self, client: OgmiosClient) -> list[PointOrOrigin]:
        """Newest first: the in-memory cursor, the log's recorded points, then the configured start."""
        candidates: list[PointOrOrigin] = []
        if self.position is not None:
            candidates.append(self.position)
        for point in self.intersection_candidates_from_log():
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

    def _append_block(
        self, point: ChainPoint, events: Sequence[ChainEvent], block: Block | None = None
    ) -> None:
        for attempt in range(MAX_APPEND_ATTEMPTS):
            try:
                self.log.append_block(point, events)
                break
            except AppendConflictError:
                if attempt + 1 == MAX_APPEND_ATTEMPTS:
                    raise
                log.info("another writer appended to the log; re-reading it and retrying block %s", point)
                self.log.head(refresh=True)
                self.fold_log()
                if block is not None:  # a schedule may have been registered meanwhile
                    events = block_events(
                        block, self.contract, self.state.schedules, self.state.open_allocations
                    )
        self.fold_log()
        self.blocks_written += 1 if events else 0
        self._unrecorded_blocks = 0
        self._last_checkpoint = self._clock()

    def _append_rollback(self, point: ChainPoint) -> None:
        for attempt in range(MAX_APPEND_ATTEMPTS):
            try:
                self.log.append_rollback(point)
                break
            except AppendConflictError:
                if attempt + 1 == MAX_APPEND_ATTEMPTS:
                    raise
                self.log.head(refresh=True)
        self.fold_log()
        self.rollbacks_recorded += 1
        log.info("rolled back to %s", point)

    # --- stall detection --------------------------------------------------------------------------------

    async def _probe(self, client: OgmiosClient, ahead_before: bool) -> bool:
        """Called after `stall_timeout_seconds` of silence. Returns whether the node is ahead of us."""
        try:
            tip = await asyncio.wait_for(client.network_tip(), self.config.probe_timeout_seconds)
        except TimeoutError:
            raise FollowerStalled(
                f"no chain-sync message for {self.config.stall_timeout_seconds:.0f} s and no answer to a tip "
                f"query within {self.config.probe_timeout_seconds:.0f} s; reconnecting"
            ) from None
        except OgmiosError as exc:  # the node answered, if only with an error: the link is alive
            log.info("tip probe answered with an error (%s); treating the link as alive", exc)
            return False
        ahead = tip != ORIGIN and (self.position is None or tip.slot > _slot(self.position))
        if ahead and ahead_before:
            raise FollowerStalled(
                f"the node's tip (slot {_slot(tip)}) is ahead of us (slot {_slot(self.position)}) but chain "
                f"sync sent nothing for {2 * self.config.stall_timeout_seconds:.0f} s; reconnecting"
            )
        return ahead


def _slot(point: PointOrOrigin | None) -> int:
    return -1 if point is None or point == ORIGIN else point.slot
