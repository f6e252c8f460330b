"""Every SQLite connection of the log and the projections caches our prepared statements (issue 12).

The library opens its connections with `cached_statements=True`, a cache of one statement; the stores
create theirs through `milestoned.eventlog.sqlite_statements` instead, which must keep everything else
the library does (WAL mode, rows by name).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from milestoned.eventlog.config import SQLiteConfig
from milestoned.eventlog.events import ChainCursorCheckpointed, ChainPoint
from milestoned.eventlog.sqlite_statements import STATEMENT_CACHE
from milestoned.eventlog.store import EventLog
from milestoned.projections.store import ProjectionStore


def test_the_log_and_the_projections_connect_with_a_statement_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caches: list[Any] = []
    real_connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        caches.append(kwargs.get("cached_statements"))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", spy)
    with EventLog(SQLiteConfig(tmp_path / "events.db")) as log:
        log.append([ChainCursorCheckpointed(point=ChainPoint(slot=1, header_hash=f"{1:064x}"))])
        assert [logged.position for logged in log.read()] == [1]
    projections = ProjectionStore(SQLiteConfig(tmp_path / "projections.db"))
    assert projections.chain_tip() is None
    assert projections.claimable("addr_test1qxyz") == []
    assert caches  # the stores did connect through sqlite3.connect
    assert set(caches) == {STATEMENT_CACHE}  # never the library's cache of one (`True`)
    assert STATEMENT_CACHE >= 16  # holds every statement of a claimable answer and of an append


def test_the_connections_are_the_library_s_otherwise(tmp_path: Path) -> None:
    with EventLog(SQLiteConfig(tmp_path / "events.db")) as log:
        log.append([ChainCursorCheckpointed(point=ChainPoint(slot=1, header_hash=f"{1:064x}"))])
        pool = log._factory.datastore.pool  # type: ignore[attr-defined]
        connection = pool.get_connection(is_writer=False)
        try:
            raw = connection._sqlite_conn
            assert raw.row_factory is sqlite3.Row
            assert raw.isolation_level is None
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            pool.put_connection(connection)


def test_the_copied_connection_code_is_still_the_library_s() -> None:
    """`create_connection` is the library's `_create_connection` of eventsourcing 9.5 with one argument
    changed. When an upgrade changes that method (or fixes the cache upstream), this fails: compare the
    two again, and drop ours if the library now caches statements."""
    import hashlib
    import inspect

    from eventsourcing.sqlite import SQLiteConnectionPool

    from milestoned.eventlog import sqlite_statements

    library = inspect.getsource(SQLiteConnectionPool._create_connection)
    assert "cached_statements=True" in library  # the bug this module works around is still there
    ours = inspect.getsource(sqlite_statements.create_connection)
    for line in ("uri=True", "check_same_thread=False", "isolation_level=None", "PRAGMA journal_mode=WAL;"):
        assert line in library and line in ours, line
    # the method as copied (eventsourcing 9.5.6); another version: compare it with ours, then update this
    digest = hashlib.sha256(library.encode()).hexdigest()[:16]
    assert digest == "4635cb356e9ae4ec", "eventsourcing changed _create_connection: compare it with ours"
