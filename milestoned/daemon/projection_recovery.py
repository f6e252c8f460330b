"""Open the projections at start, and rebuild them from the log when they cannot be trusted.

WHY: the projections are derived data; the event log is the only record. Two situations made the daemon
stop, or worse, serve wrong answers, although the fix is always the same (replay the log):
- the projections are AHEAD of the log (a backup of `events.db` restored alone): their rows describe
  events the log no longer has, and `log replay` would say DIFFERS forever;
- the projections' SQLite file is corrupt ("file is not a database").
In both cases the daemon logs a warning saying what it found and rebuilds: a corrupt file is moved
aside (kept for inspection, never deleted), rows ahead of the log are cleared, and the projector then
replays the whole log as on a first start.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import structlog

from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.config import SQLiteConfig, StoreConfig
from milestoned.projections.store import PROJECTION_NAME, TABLES, ProjectionStore

log = structlog.get_logger("milestoned.daemon")


class ProjectionsUnusable(RuntimeError):
    """The projections cannot be opened nor rebuilt; the message says why and what to do."""


def open_projections(url: str, event_log: EventLog) -> ProjectionStore:
    """The projection store of `url`, consistent with `event_log` (rebuilt with a warning if it was not)."""
    config = parse_store_url(url)
    projections = _open_or_move_aside(config)
    position, head = projections.position(), event_log.head().position
    if position > head:
        log.warning(
            "the projections are ahead of the event log (was events.db restored from a backup alone?); "
            "rebuilding them from the log",
            projection_position=position,
            log_head=head,
        )
        clear_projections(projections)
    return projections


def _open_or_move_aside(config: StoreConfig) -> ProjectionStore:
    try:
        return ProjectionStore(config)
    except sqlite3.DatabaseError as exc:
        if not isinstance(config, SQLiteConfig) or not config.path.exists():
            raise
        aside = _aside_name(config.path)
        for suffix in ("", "-wal", "-shm"):  # the WAL belongs to the corrupt file: move it with it
            part = Path(f"{config.path}{suffix}")
            if part.exists():
                part.rename(Path(f"{aside}{suffix}"))
        log.warning(
            "the projections database is corrupt; moved it aside and rebuilding the projections from "
            "the event log",
            error=str(exc),
            path=str(config.path),
            moved_to=str(aside),
        )
    try:
        return ProjectionStore(config)
    except sqlite3.DatabaseError as exc:
        raise ProjectionsUnusable(f"cannot create fresh projections at {config.path}: {exc}") from exc


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return path.with_name(f"{path.name}.corrupt-{stamp}")


def clear_projections(projections: ProjectionStore) -> None:
    """Empty every projection table and its position, in one transaction (the projector then replays)."""
    tracking = getattr(projections._recorder, "tracking_table_name", "tracking")
    with projections._transaction() as cursor:
        for table in TABLES:
            cursor.execute(f"DELETE FROM {table.name}")
        cursor.execute(
            projections._sql(f"DELETE FROM {tracking} WHERE application_name = ?"), (PROJECTION_NAME,)
        )
