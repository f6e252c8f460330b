"""Snapshots of a running daemon, and of an event log (the imperative shell of the web view).

`snapshot_of` reads everything a snapshot holds in one go: the projection facts (one read, the same
facts the socket's `claimable` and `milestones` compute from), the schedules of the daemon's local index,
the submissions, the log's head and its newest events. `DaemonSource` rebuilds it only when the log or
the projections moved (or a verification finished), so requests between two blocks share one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.eventlog.events import ChainPoint, ScheduleRegistered
from milestoned.web.routes import Unavailable, prerender
from milestoned.web.snapshot import LogLine, ScheduleInfo, Snapshot, Verification
from milestoned.web.viewmodels import warm

if TYPE_CHECKING:
    from milestoned.daemon.local_index import LocalIndex
    from milestoned.daemon.service import DaemonService
    from milestoned.eventlog import EventLog
    from milestoned.projections.slots import SlotConfig
    from milestoned.projections.store import ProjectionStore

log = structlog.get_logger("milestoned.web")
RECENT_EVENTS = 40
MIN_REBUILD_S = 1.0
"""At most one snapshot per this many seconds: a busy indexer (a block every 0.2 s on the devnet) then
costs one rebuild a second, and readers share each snapshot's rendered pages."""
REBUILD_DUTY = 4.0
"""...and at most one per 4 times the last build's duration: a log of 10,000 allocations takes a few
hundred ms to snapshot, and the worker thread must leave the event loop most of the interpreter."""
VERIFY_MIN_S = 30.0
VERIFY_DUTY = 50.0
"""The web view re-verifies the log's hash chain when it moved: at most every 30 s, and waiting 50 times
as long as the last verification took (a log that takes 2 s to verify is checked every 100 s)."""
_SKIPPED_FIELDS = {"definition", "part", "locks", "registration", "policy", "inputs", "signature"}


def _point(point: ChainPoint | None) -> str | None:
    if point is None:
        return None
    return "origin" if point.is_origin else f"{point.slot}.{point.header_hash}"


def log_line(position: int, event: Any, hash_: str) -> LogLine:
    fields = []
    for field_ in dataclasses.fields(event):
        name = field_.name
        if name in _SKIPPED_FIELDS:
            continue
        value = getattr(event, name)
        if isinstance(value, ChainPoint):
            value = _point(value)
        elif isinstance(value, Mapping) or (isinstance(value, tuple | list) and len(value) > 3):
            continue
        text = str(value)
        fields.append((name, text if len(text) <= 72 else text[:70] + "…"))
    return LogLine(position, type(event).__name__, hash_, tuple(fields))


def schedules_of(index: LocalIndex) -> tuple[ScheduleInfo, ...]:
    return tuple(
        ScheduleInfo(
            schedule_id=sid,
            definition=event.definition,
            policy=event.policy,
            source="registered here" if isinstance(event, ScheduleRegistered) else "discovered on chain",
            registered_at=_point(index.registered_at.get(sid)),
        )
        for sid, event in sorted(index.schedules.items())
    )


def snapshot_of(
    *,
    version: str,
    network: str,
    index: LocalIndex,
    projections: ProjectionStore,
    event_log: EventLog,
    slots: SlotConfig | None,
    verification: Verification | None,
    live: bool,
) -> Snapshot:
    head = event_log.head()
    recent = event_log.read(after=max(0, head.position - RECENT_EVENTS), limit=RECENT_EVENTS)
    return Snapshot(
        version=version,
        network=network,
        schedules=schedules_of(index),
        facts=projections.facts(),
        submissions=tuple(projections.submissions()),
        in_flight=frozenset(index.in_flight_refs()),
        log_position=head.position,
        log_hash=head.hash,
        recent=tuple(log_line(e.position, e.event, e.hash) for e in recent),
        verification=verification,
        slots=slots,
        live=live,
    )


class DaemonSource:
    """The current snapshot of a running daemon, rebuilt when its state moved.

    The first snapshot is built at once. After that, a change (the log or the projections moved) starts
    ONE rebuild (throttled, see MIN_REBUILD_S) in a worker thread (the projection store's pool gives it a
    connection of its own), and requests keep getting the previous snapshot until it is ready: a block
    never makes readers wait for a 10,000-allocation schedule to be recomputed on the event loop. Each
    page shows the log position its snapshot was taken at; the live-update script picks up the next one.
    """

    def __init__(self, service: DaemonService) -> None:
        self.service = service
        self.verification: Verification | None = None
        self._snapshot: Snapshot | None = None
        self._key: tuple[Any, ...] = ()
        self._building: asyncio.Future[None] | None = None
        self._built_at = 0.0
        self._build_s = 0.0

    def _state_key(self) -> tuple[Any, ...]:
        service = self.service
        return (
            service.log.head().position,
            service.projections.position(),
            tuple(sorted(service.index.in_flight)),
            None if self.verification is None else self.verification.at_ms,
        )

    def _builder(self, key: tuple[Any, ...]) -> Any:
        """A function that builds the snapshot of `key` (safe to run in a thread: the loop's mutable
        state, the local index, is copied here, on the loop)."""
        service = self.service
        assert service.projector is not None
        schedules = schedules_of(service.index)
        in_flight = frozenset(service.index.in_flight_refs())
        version = f"{key[0]}.{key[1]}.{len(key[2])}.{key[3] or 0}"
        verification, slots = self.verification, service.projector.slots

        def build() -> Snapshot:
            head = service.log.head()
            recent = service.log.read(after=max(0, head.position - RECENT_EVENTS), limit=RECENT_EVENTS)
            snapshot = Snapshot(
                version=version,
                network=service.config.chain.network,
                schedules=schedules,
                facts=service.projections.facts(),
                submissions=tuple(service.projections.submissions()),
                in_flight=in_flight,
                log_position=head.position,
                log_hash=head.hash,
                recent=tuple(log_line(e.position, e.event, e.hash) for e in recent),
                verification=verification,
                slots=slots,
                live=True,
            )
            return prerender(warm(snapshot))

        return build

    def snapshot(self) -> Snapshot:
        service = self.service
        if service.projector is None:
            raise Unavailable("the projections start once the chain's slot clock is known; retrying")
        try:
            key = self._state_key()  # the projections job catches up every 0.5 s; reading never writes
        except Exception as exc:
            raise Unavailable(f"the projections cannot be read now ({type(exc).__name__}); retrying") from exc
        current = self._snapshot
        if current is None or {i.schedule_id for i in current.schedules} != set(service.index.schedules):
            # the first snapshot, or a schedule came or went: built now, so that its page is no 404
            current = self._builder(key)()
            self._snapshot, self._key, self._built_at = current, key, time.monotonic()
        elif key != self._key and self._building is None and self._due():
            self._refresh(key)
        return current

    def _due(self) -> bool:
        return time.monotonic() - self._built_at >= max(MIN_REBUILD_S, REBUILD_DUTY * self._build_s)

    def _refresh(self, key: tuple[Any, ...]) -> None:
        build = self._builder(key)

        async def run() -> None:
            started = time.monotonic()
            try:
                self._snapshot = await asyncio.to_thread(build)
                self._key = key
                self._built_at = time.monotonic()
                self._build_s = self._built_at - started
            except Exception as exc:  # pages keep the previous snapshot; the next request tries again
                log.warning("web view: snapshot not rebuilt", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._building = None

        self._building = asyncio.ensure_future(run())

    async def prepare(self) -> None:
        """Build the first snapshot in the worker thread as soon as the projections run, so that the
        first reader does not wait for it on the event loop (a request before then builds it itself)."""
        while self.service.projector is None:
            await asyncio.sleep(0.2)
        if self._snapshot is None and self._building is None:
            self._refresh(self._state_key())
            building = self._building
            if building is not None:
                await asyncio.shield(building)

    async def verify_periodically(self) -> None:
        """Verify the log's hash chain (as `milestonectl log verify` does) in a worker thread: at start,
        then whenever the head moved, at most every VERIFY_MIN_S and at most a 1/VERIFY_DUTY share of
        the time (a long log takes long to verify)."""
        from milestoned.eventlog import EventLog
        from milestoned.eventlog.verify import verify

        config = self.service.log.config
        checked_at = -1
        while True:
            head = self.service.log.head()
            took = 0.0
            if head.position != checked_at:

                def run(anchor: Any = head) -> Any:
                    with EventLog(config) as reader:
                        return verify(reader, anchor=anchor)

                started = time.monotonic()
                try:
                    report = await asyncio.to_thread(run)
                    self.verification = Verification(
                        ok=report.ok,
                        events_checked=report.events_checked,
                        head_position=report.head.position,
                        summary=report.summary(),
                        at_ms=int(time.time() * 1000),
                    )
                    checked_at = head.position
                except Exception as exc:  # the page says it was not verified; the daemon goes on
                    log.warning(
                        "web view: the log could not be verified", error=f"{type(exc).__name__}: {exc}"
                    )
                took = time.monotonic() - started
            await asyncio.sleep(max(VERIFY_MIN_S, VERIFY_DUTY * took))
