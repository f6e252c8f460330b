"""`verify` on rows whose SQL column types were changed by a hand edit (SQLite keeps whatever type an
UPDATE writes): it reports the position, like any other tampering, instead of failing with a TypeError."""

from __future__ import annotations

from pathlib import Path

from milestoned.eventlog.config import SQLiteConfig
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import ChainSimulator, make_schedule, oracle_signature
from milestoned.eventlog.verify import verify


def _log(tmp_path: Path) -> SQLiteConfig:
    cfg = SQLiteConfig(path=tmp_path / "events.db")
    with EventLog(cfg) as log:
        log.append([make_schedule(0), oracle_signature(0, 0, "01")])
        simulator = ChainSimulator()
        while log.head().position < 8:
            log.append(simulator.next_block())
    return cfg


def _edit(cfg: SQLiteConfig, statement: str) -> None:
    import sqlite3

    with sqlite3.connect(cfg.path) as conn:
        conn.execute(statement)


def test_a_record_rewritten_as_text_is_reported_at_its_position(tmp_path: Path) -> None:
    cfg = _log(tmp_path)
    _edit(cfg, "UPDATE stored_events SET state = CAST(state AS TEXT) WHERE originator_version = 4")
    with EventLog(cfg) as log:
        report = verify(log)
    assert not report.ok
    assert [p.position for p in report.problems] == [4]
    assert "stored as text" in report.summary()


def test_an_edited_event_type_is_reported_at_its_position(tmp_path: Path) -> None:
    cfg = _log(tmp_path)
    _edit(cfg, "UPDATE stored_events SET topic = 5, state = CAST(state AS TEXT) WHERE originator_version = 5")
    with EventLog(cfg) as log:
        report = verify(log)
    assert not report.ok
    assert {p.position for p in report.problems} == {5}
    assert "unknown event topic" in report.summary()
