"""`verify`: the auditor's check that the stored log is exactly what was appended.

It reads every row of the events table in insertion order (not trusting positions) and checks, for each:
that it belongs to the log stream, that positions run 1, 2, 3 … without gap or repeat, that the record is
canonical and decodes, that its hash matches its content, and that it links to the previous record's
hash. Any change, removal, insertion or reordering of stored events breaks at least one of these. Cutting
off the newest events is only detectable against an anchor recorded elsewhere (`anchor=`, the head file
of `anchor`): `check_store` verifies a store against both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from milestoned.eventlog.anchor import HeadFile, HeadFileError
from milestoned.eventlog.config import SQLiteConfig, StoreConfig
from milestoned.eventlog.hashchain import GENESIS_HASH, LogHead, open_record
from milestoned.eventlog.store import LOG_STREAM_ID, EventLog

MAX_REPORTED_PROBLEMS = 100


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """One thing wrong with the stored log: at which position (as stored) and what."""

    position: int
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    events_checked: int
    head: LogHead
    problems: tuple[VerifyProblem, ...]

    def summary(self) -> str:
        if self.ok:
            return f"event log OK: {self.events_checked} events, head {self.head.position} {self.head.hash}"
        lines = [f"event log FAILED verification ({len(self.problems)} problems):"]
        lines += [f"  position {p.position}: {p.message}" for p in self.problems]
        return "\n".join(lines)


def verify(log: EventLog, *, anchor: LogHead | None = None, batch_size: int = 2000) -> VerifyReport:
    """Check the whole log; `anchor` is a (position, hash) the log must still contain."""
    problems: list[VerifyProblem] = []
    expected_position = 1
    prev_hash = GENESIS_HASH
    checked = 0
    anchor_seen = anchor is None or anchor.position == 0

    def report(position: int, message: str) -> None:
        if len(problems) < MAX_REPORTED_PROBLEMS:
            problems.append(VerifyProblem(position, message))

    for row in log.iter_notifications(batch_size=batch_size):
        checked += 1
        position = row.originator_version
        if row.originator_id != LOG_STREAM_ID:
            report(position, f"row {row.id} belongs to stream {row.originator_id}, not the event log")
            continue
        if position != expected_position:
            what = "missing" if position > expected_position else "out of order or repeated"
            report(position, f"expected position {expected_position} here, found {position} ({what})")
        topic, state = _stored_types(position, row.topic, row.state, report)
        opened = open_record(position, topic, state)
        for message in opened.problems:
            report(position, message)
        if opened.prev_hash and opened.prev_hash != prev_hash:
            report(position, "previous-hash link does not match the preceding record (removed or inserted?)")
        if anchor is not None and position == anchor.position:
            anchor_seen = True
            if opened.hash != anchor.hash:
                report(position, f"hash differs from the anchor {anchor.hash}")
        prev_hash = opened.hash or prev_hash
        expected_position = position + 1
    head = LogHead(position=expected_position - 1, hash=prev_hash)
    if not anchor_seen and anchor is not None:
        report(
            head.position,
            f"the log ends at {head.position} but the anchor says position {anchor.position} "
            "existed (events were cut off the end)",
        )
    return VerifyReport(ok=not problems, events_checked=checked, head=head, problems=tuple(problems))


@dataclass(frozen=True, slots=True)
class StoreCheck:
    """What verifying a store found: nothing (`sound`), or every reason it cannot be used."""

    problems: tuple[str, ...]
    existed: bool
    """The store held a log before (a fresh data directory holds none: nothing to recover from it)."""

    @property
    def sound(self) -> bool:
        return not self.problems


def check_store(store: StoreConfig, head_file: HeadFile | None) -> StoreCheck:
    """Verify the log at `store` against its hash chain and the head recorded in `head_file`; the daemon
    at start, `milestoned verify` and `milestonectl doctor` all judge a store by this. Never appends."""
    problems: list[str] = []
    anchor = None
    if head_file is not None:
        try:
            anchor = head_file.read()
        except HeadFileError as exc:
            problems.append(f"the recorded log head is unreadable: {exc}")
    recorded = anchor is not None and anchor.position > 0
    if isinstance(store, SQLiteConfig) and not store.path.exists():
        if recorded:
            problems.append(
                f"the event log {store.path} is missing, but its head was recorded at position "
                f"{anchor.position}: the store was deleted or lost"  # type: ignore[union-attr]
            )
        return StoreCheck(tuple(problems), existed=recorded)
    try:
        with EventLog(store) as event_log:
            report = verify(event_log, anchor=anchor)
    except Exception as exc:  # a file that is not a database, a schema that cannot be read, …
        problems.append(f"the event log at {store.describe()} cannot be read: {type(exc).__name__}: {exc}")
        return StoreCheck(tuple(problems), existed=True)
    problems.extend(f"position {p.position}: {p.message}" for p in report.problems)
    return StoreCheck(tuple(problems), existed=report.head.position > 0 or recorded)


def _stored_types(
    position: int, topic: object, state: object, report: Callable[[int, str], None]
) -> tuple[str, bytes]:
    """The row's topic and record as text and bytes; a column whose SQL type was changed by an edit
    (SQLite keeps whatever type an UPDATE wrote) is reported at its position and still checked as far as
    it can be, instead of stopping the whole verification with a TypeError."""
    if not isinstance(topic, str):
        report(position, f"the event type is stored as {type(topic).__name__}, not text (edited by hand?)")
        topic = str(topic)
    if isinstance(state, str):
        report(position, "the record is stored as text, not bytes (edited by hand?)")
        state = state.encode()
    elif not isinstance(state, bytes | bytearray | memoryview):
        report(position, f"the record is stored as {type(state).__name__}, not bytes (edited by hand?)")
        state = str(state).encode()
    return topic, bytes(state)
