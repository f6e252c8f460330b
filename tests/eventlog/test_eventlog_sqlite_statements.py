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
