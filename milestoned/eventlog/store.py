"""The event log: one append-only stream of hash-chained events in an `eventsourcing` recorder.

Why one stream: the daemon has one history (the chain as it saw it, plus local commands), and one stream
with dense positions 1, 2, 3 … makes every guarantee simple to state and to check. The library's
application recorder stores each event as a row keyed by (stream id, position); that primary key is the
optimistic-concurrency check: an append at a position that is already taken fails as a whole, so two
writers, or a writer restarted after `kill -9` with a stale view, can never duplicate or interleave events.
A batch (for example one block's events plus the chain cursor) is inserted in ONE database transaction by
the recorder, so it is either entirely in the log or not at all.

We use the library's recorders (SQLite in WAL mode, PostgreSQL with its table lock that keeps commit order
equal to insert order) and not its aggregate/mapper layer: our events are plain values with their own
canonical encoding, because the hash chain must cover bytes we define, not a transcoder's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    Notification,
    StoredEvent,
)

from milestoned.eventlog.anchor import HeadFile
from milestoned.eventlog.codec import decode_event
from milestoned.eventlog.config import PostgresConfig, StoreConfig
from milestoned.eventlog.cursor import live_points_newest_first, spread_points
from milestoned.eventlog.events import ChainCursorCheckpointed, ChainEvent, ChainPoint, Event, RolledBack
from milestoned.eventlog.hashchain import LogHead, seal_batch
from milestoned.eventlog.sqlite_statements import use_statement_cache

LOG_STREAM_ID = UUID("6d696c65-7374-6f6e-6564-2f6c6f672f31")  # "milestoned/log/1" as bytes
EVENTS_TABLE = "stored_events"


class CorruptLogError(RuntimeError):
    """The log's stored records are damaged; it must be verified and restored before appending."""


class TruncatedLogError(CorruptLogError):
    """The log ends before the head recorded outside it: events were cut off its end."""


Fence = Callable[[Any], None]
"""A check run inside the append's own database transaction, before its rows are inserted, with the
transaction's cursor: it raises to refuse the append (then nothing is written). The daemon's leadership
passes one that compares the leader term in the store with its own (`daemon.leadership`)."""


class AppendConflictError(RuntimeError):
    """The log moved on since this writer last looked: another writer appended, or our view is stale."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as read back from the log, with its position and chain hash."""

    position: int
    event: Event
    hash: str


def ensure_postgres_schema(config: PostgresConfig) -> None:
    """Create the configured schema if it is missing (the library expects it to exist)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(**config.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(config.schema)))


def open_factory(config: StoreConfig) -> InfrastructureFactory[Any]:
    """The library's infrastructure factory for `config` (creating a PostgreSQL schema if needed)."""
    if isinstance(config, PostgresConfig):
        ensure_postgres_schema(config)
        return InfrastructureFactory.construct(config.factory_env())
    config.path.parent.mkdir(parents=True, exist_ok=True)
    factory = InfrastructureFactory.construct(config.factory_env())
    use_statement_cache(factory)  # the library's connections cache one statement (sqlite_statements)
    return factory


class EventLog:
    """Append, read and inspect the event log.

    Thread-safe: the daemon reads and appends from worker threads (never on its event loop), so appends
    and head refreshes are serialised by a lock; reads take connections of their own from the library's
    pool. Across processes the positions' primary key decides (AppendConflictError).
    """

    def __init__(self, config: StoreConfig, *, head_file: HeadFile | None = None) -> None:
        self.config = config
        self._factory = open_factory(config)
        self._recorder: ApplicationRecorder = self._factory.application_recorder()
        self._lock = threading.RLock()
        _install_fence_hook(self._recorder)
        self._head = self._read_head()
        self.head_file = head_file
        """Where the head is recorded outside the log after every append (`anchor`); None: nowhere."""
        self.fence: Fence | None = None
        """The fence every append runs unless it passes its own (the daemon's leader term); None: none."""

    # --- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        if self.head_file is not None:
            self.head_file.sync()
        self._factory.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def recorder(self) -> ApplicationRecorder:
        """The underlying library recorder (for verification and tests, not for writing)."""
        return self._recorder

    # --- writing -------------------------------------------------------------------------------------

    def head(self, *, refresh: bool = False) -> LogHead:
        """Position and hash of the last event (refresh=True re-reads it from the database)."""
        if refresh:
            with self._lock:
                self._head = self._read_head()
        return self._head

    def append(
        self, events: Sequence[Event], *, expected_position: int | None = None, fence: Fence | None = None
    ) -> LogHead:
        """Append `events` atomically (see `_append`); `fence` runs in the same database transaction
        before the rows are inserted and refuses the whole append by raising."""
        with self._lock:
            return self._append(events, expected_position, fence if fence is not None else self.fence)

    def _append(self, events: Sequence[Event], expected_position: int | None, fence: Fence | None) -> LogHead:
        """Append `events` atomically at the next positions and return the new head.

        `expected_position` is the head position the caller believes the log has (optimistic
        concurrency); when omitted, this writer's own view of the head is used. If another writer got
        there first, nothing is written and AppendConflictError is raised. Re-appending a batch that is
        already stored at exactly those positions (a retry after a lost acknowledgement) is a no-op.
        """
        if not events:
            return self._head
        head = self._head
        if expected_position is not None and expected_position != head.position:
            head = self.head(refresh=True)
            if expected_position != head.position:
                raise AppendConflictError(
                    f"expected the log to end at position {expected_position}, "
                    f"but it ends at {head.position}; re-read the log and retry"
                )
        self._refuse_if_truncated(head)
        if not head.hash:
            raise CorruptLogError(
                f"the last stored record (position {head.position}) is damaged, so nothing can be chained "
                "onto it; run `verify` on the event log and restore it from a backup"
            )
        records = seal_batch(list(events), head)
        stored = [
            StoredEvent(
                originator_id=LOG_STREAM_ID,
                originator_version=record.position,
                topic=record.topic,
                state=record.state,
            )
            for record in records
        ]
        try:
            self._recorder.insert_events(stored, fence=fence)
        except IntegrityError:
            last = records[-1]
            existing = self._recorder.select_events(
                LOG_STREAM_ID, gt=records[0].position - 1, lte=last.position
            )
            if [e.state for e in existing] == [r.state for r in records]:
                self._head = self._read_head()
                return LogHead(position=last.position, hash=last.hash)
            self._head = self._read_head()
            raise AppendConflictError(
                f"positions {records[0].position}..{last.position} are already taken by other events "
                f"(the log now ends at {self._head.position}); another writer is appending to this log"
            ) from None
        self._head = LogHead(position=records[-1].position, hash=records[-1].hash)
        if self.head_file is not None:
            self.head_file.write(self._head)
        return self._head

    def _refuse_if_truncated(self, head: LogHead) -> None:
        """Never chain new events onto a log shorter than the head recorded outside it: they would take
        the positions of the events that were cut off, and hide the cut."""
        if self.head_file is None:
            return
        recorded = self.head_file.read()
        if recorded is not None and recorded.position > head.position:
            raise TruncatedLogError(
                f"the event log ends at position {head.position} but its head was recorded at position "
                f"{recorded.position} ({self.head_file.path}): events were cut off its end. Nothing is "
                "appended; restart the daemon to recover the log from the chain (the damaged store is "
                "kept aside), or restore the store from a backup"
            )

    def append_block(self, point: ChainPoint, events: Sequence[Event] = ()) -> LogHead:
        """Append one block's chain events followed by the cursor checkpoint at `point`, atomically.

        This is the indexer's write: after a crash the block is either fully in the log (and the cursor
        says so) or not at all (and the cursor still points at the previous block), so resuming from
        `chain_cursor()` neither skips nor repeats a block. With no events it is a plain checkpoint.
        """
        for event in events:
            if not isinstance(event, ChainEvent) or isinstance(event, RolledBack | ChainCursorCheckpointed):
                raise ValueError(
                    f"append_block takes the block's chain events only, got {type(event).__name__}"
                )
            if event.point != point:
                raise ValueError(f"{event.topic} is at {event.point}, not at the block's point {point}")
        return self.append([*events, ChainCursorCheckpointed(point=point)])

    def append_rollback(self, point: ChainPoint) -> LogHead:
        """Record that the chain rolled back to `point` (the indexer's answer to a backward step)."""
        return self.append([RolledBack(point=point)])

    # --- reading -------------------------------------------------------------------------------------

    def read(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        """Up to `limit` events with positions greater than `after`, in log order."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        stored = self._recorder.select_events(LOG_STREAM_ID, gt=after, limit=limit)
        return [_open(s.originator_version, s.topic, s.state) for s in stored]

    def iter_events(self, after: int = 0, batch_size: int = 1000) -> Iterator[LoggedEvent]:
        """Every event after position `after`, read in batches of `batch_size`."""
        while True:
            batch = self.read(after=after, limit=batch_size)
            yield from batch
            if len(batch) < batch_size:
                return
            after = batch[-1].position

    def iter_newest_first(self, batch_size: int = 1000) -> Iterator[LoggedEvent]:
        """Events from the head backwards, in batches."""
        upper: int | None = None
        while True:
            stored = self._recorder.select_events(LOG_STREAM_ID, lte=upper, desc=True, limit=batch_size)
            for s in stored:
                yield _open(s.originator_version, s.topic, s.state)
            if len(stored) < batch_size:
                return
            upper = stored[-1].originator_version - 1

    def iter_notifications(self, batch_size: int = 1000) -> Iterator[Notification]:
        """Every stored row of the events table in insertion order, whatever stream it claims to be in.

        This is the auditor's view: it does not trust positions, so rows that were inserted or
        renumbered by hand show up too.
        """
        start: int | None = None
        while True:
            rows = self._recorder.select_notifications(start, batch_size, inclusive_of_start=False)
            yield from rows
            if len(rows) < batch_size:
                return
            start = rows[-1].id

    def chain_cursor(self) -> ChainPoint | None:
        """The newest point still on the chain that the log has reached, or None if it has none."""
        points = live_points_newest_first(e.event for e in self.iter_newest_first(batch_size=256))
        return next(points, None)

    def intersection_points(self, max_points: int = 10, depth: int = 2160) -> list[ChainPoint]:
        """Points to offer `findIntersection` on restart: up to `max_points`, spread over the last
        `depth` distinct points on the current chain, newest first."""
        points: list[ChainPoint] = []
        for point in live_points_newest_first(e.event for e in self.iter_newest_first(batch_size=1000)):
            points.append(point)
            if len(points) >= depth:
                break
        return spread_points(points, max_points)

    # --- internals -----------------------------------------------------------------------------------

    def _read_head(self) -> LogHead:
        last = self._recorder.select_events(LOG_STREAM_ID, desc=True, limit=1)
        if not last:
            return LogHead.empty()
        try:
            record_hash = orjson.loads(last[0].state)["h"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            record_hash = ""  # damaged: reading and verifying still work, appending refuses
        return LogHead(position=last[0].originator_version, hash=record_hash)


def _install_fence_hook(recorder: ApplicationRecorder) -> None:
    """Run an append's `fence` inside the recorder's insert transaction, before the insert.

    Both of the library's application recorders call `_insert_events(cursor, stored_events, **kwargs)`
    inside the transaction that inserts the rows (PostgreSQL: a hook before its table lock and insert;
    SQLite: the insert itself), passing on the keyword arguments given to `insert_events`.
    """
    original = recorder._insert_events  # type: ignore[attr-defined]

    def fenced(cursor: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        fence = kwargs.pop("fence", None)
        if fence is not None:
            fence(cursor)
        return original(cursor, stored_events, **kwargs)

    recorder._insert_events = fenced  # type: ignore[attr-defined]


def _open(position: int, topic: str, state: bytes) -> LoggedEvent:
    record = orjson.loads(state)
    return LoggedEvent(position=position, event=decode_event(topic, record["e"]), hash=record["h"])
