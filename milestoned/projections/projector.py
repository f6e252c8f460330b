"""Catch-up: pull events from the log in batches and apply them to the projections.

The SQLite store has no subscriptions, so the projector polls: read up to `batch_size` events after the
projection's position, turn them into row changes (pure), and apply the changes together with the new
position in one transaction. A crash anywhere leaves the old position and the old rows; the next
catch-up simply redoes the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from milestoned.eventlog.store import EventLog
from milestoned.projections.changes import RowChange, changes_for
from milestoned.projections.slots import SlotConfig
from milestoned.projections.store import ProjectionStore


class ProjectionGapError(RuntimeError):
    """The log returned events that do not continue the projection's position (a damaged log)."""


class Projector:
    """Keeps one ProjectionStore current with one EventLog."""

    def __init__(
        self, log: EventLog, store: ProjectionStore, slots: SlotConfig, *, batch_size: int = 1000
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.log = log
        self.store = store
        self.slots = slots
        self.batch_size = batch_size

    def catch_up_once(self) -> int:
        """Apply at most one batch; return how many events it held (0 when up to date)."""
        position = self.store.position()
        batch = self.log.read(after=position, limit=self.batch_size)
        if not batch:
            return 0
        if batch[0].position != position + 1 or batch[-1].position != position + len(batch):
            raise ProjectionGapError(
                f"projection is at {position} but the log returned positions "
                f"{batch[0].position}..{batch[-1].position}; run `verify` on the event log"
            )
        changes: list[RowChange] = []
        for logged in batch:
            changes.extend(changes_for(logged.event, self.slots))
        self.store.apply(changes, batch[-1].position)
        return len(batch)

    def catch_up(
        self, max_batches: int | None = None, between_batches: Callable[[], object] | None = None
    ) -> int:
        """Apply batches until the projections reach the log's head, or `max_batches` of them; return the
        number of events. `between_batches` is called before each batch after the first (the daemon's
        projections job pauses there for socket queries, `daemon.query_priority`)."""
        total = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            if batches and between_batches is not None:
                between_batches()
            applied = self.catch_up_once()
            total += applied
            batches += 1
            if applied < self.batch_size:
                break
        return total

    def follow(self, stop: threading.Event, poll_interval_s: float = 0.5) -> None:
        """Catch up, then keep polling until `stop` is set (run it in a thread or `asyncio.to_thread`)."""
        while not stop.is_set():
            if self.catch_up_once() < self.batch_size:
                stop.wait(poll_interval_s)
