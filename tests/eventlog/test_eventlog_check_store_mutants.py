"""`check_store`, the one judgement of a store the daemon's start, `milestoned verify` and `doctor`
share: tests for mutants of `eventlog/verify.py` that survived (issue 19).

Each case is a real SQLite store (or its absence) and a real head file: a fresh data directory, a
store lost after its head was recorded, an unreadable head, a store of one event, a store that matches
its head, one that does not, and a file that is not a database.
"""

from __future__ import annotations

from pathlib import Path

from milestoned.eventlog.anchor import HeadFile
from milestoned.eventlog.config import SQLiteConfig
from milestoned.eventlog.hashchain import LogHead
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import make_schedule, oracle_signature
from milestoned.eventlog.verify import StoreCheck, check_store, verify


def store_with(tmp_path: Path, count: int) -> tuple[SQLiteConfig, LogHead]:
    config = SQLiteConfig(path=tmp_path / "events.db")
    with EventLog(config) as log:
        head = log.append([make_schedule(0), oracle_signature(0, 1, "01")][:count]) if count else log.head()
    return config, head


def test_sound_means_no_problem() -> None:
    assert StoreCheck((), existed=False).sound is True
    assert StoreCheck(("x",), existed=True).sound is False


def test_a_fresh_data_directory_is_sound_and_held_no_log(tmp_path: Path) -> None:
    missing = SQLiteConfig(path=tmp_path / "events.db")
    assert check_store(missing, None) == StoreCheck((), existed=False)
    assert check_store(missing, HeadFile(tmp_path / "head.json")) == StoreCheck((), existed=False)
    HeadFile(tmp_path / "zero.json").write(LogHead(0, "00" * 32))
    assert check_store(missing, HeadFile(tmp_path / "zero.json")) == StoreCheck((), existed=False)


def test_a_store_lost_after_its_head_was_recorded_is_named(tmp_path: Path) -> None:
    head = HeadFile(tmp_path / "head.json")
    head.write(LogHead(7, "ab" * 32))
    missing = SQLiteConfig(path=tmp_path / "events.db")
    assert check_store(missing, head) == StoreCheck(
        (
            f"the event log {missing.path} is missing, but its head was recorded at position 7: the store "
            "was deleted or lost",
        ),
        existed=True,
    )


def test_an_unreadable_head_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "head.json").write_text("not json")
    check = check_store(SQLiteConfig(path=tmp_path / "events.db"), HeadFile(tmp_path / "head.json"))
    assert len(check.problems) == 1 and not check.existed
    assert check.problems[0].startswith("the recorded log head is unreadable: ")


def test_a_store_of_one_event_held_a_log(tmp_path: Path) -> None:
    config, head = store_with(tmp_path, 1)
    assert head.position == 1
    assert check_store(config, None) == StoreCheck((), existed=True)


def test_an_empty_store_held_no_log(tmp_path: Path) -> None:
    config, _ = store_with(tmp_path, 0)
    assert config.path.exists()
    assert check_store(config, None) == StoreCheck((), existed=False)


def test_a_store_is_checked_against_its_recorded_head(tmp_path: Path) -> None:
    config, head = store_with(tmp_path, 2)
    matching = HeadFile(tmp_path / "head.json")
    matching.write(head)
    assert check_store(config, matching) == StoreCheck((), existed=True)
    other = HeadFile(tmp_path / "other.json")
    other.write(LogHead(2, "cd" * 32))
    check = check_store(config, other)
    assert check.existed and len(check.problems) == 1
    assert check.problems[0].startswith("position 2: ")


def test_a_file_that_is_not_a_database_cannot_be_read_and_held_something(tmp_path: Path) -> None:
    config = SQLiteConfig(path=tmp_path / "events.db")
    config.path.write_bytes(b"this is not an SQLite database, but it is not nothing either" * 20)
    check = check_store(config, None)
    assert check.existed is True and len(check.problems) == 1
    assert check.problems[0].startswith(f"the event log at {config.describe()} cannot be read: ")


def test_an_event_type_stored_as_a_blob_is_reported_at_its_position(tmp_path: Path) -> None:
    """SQLite keeps whatever type an UPDATE writes: a topic turned into a blob is named as such."""
    import sqlite3

    config, _ = store_with(tmp_path, 2)
    with sqlite3.connect(config.path) as db:
        db.execute("UPDATE stored_events SET topic = X'41' WHERE originator_version = 2")
    with EventLog(config) as log:
        problems = [(p.position, p.message) for p in verify(log).problems]
    assert (2, "the event type is stored as bytes, not text (edited by hand?)") in problems
