"""The event log on both backends: atomic batches, ordered batched reads, no duplicates, the cursor."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from milestoned.eventlog.config import SQLiteConfig
from milestoned.eventlog.events import (
    AllocationLocked,
    ChainCursorCheckpointed,
    ChainPoint,
    Event,
    RolledBack,
    SubmissionFailed,
)
from milestoned.eventlog.hashchain import GENESIS_HASH, seal
from milestoned.eventlog.store import LOG_STREAM_ID, AppendConflictError, EventLog
from milestoned.eventlog.testing import ChainSimulator, StoreHarness, make_schedule


def checkpoint(slot: int) -> ChainCursorCheckpointed:
    return ChainCursorCheckpointed(point=ChainPoint(slot=slot, header_hash=f"{slot:064x}"))


def lock(slot: int, n: int) -> AllocationLocked:
    return AllocationLocked(
        point=ChainPoint(slot=slot, header_hash=f"{slot:064x}"),
        tx_id=f"{n:064x}",
        schedule_id="ab" * 28,
        out_ref=f"{n:064x}#0",
        beneficiary="addr_test1qxyz",
        amount=n,
        milestone_id="01",
        vesting_time_ms=0,
    )


def count_rows(store: StoreHarness, log: EventLog) -> int:
    rows = store.execute(log.config, "SELECT COUNT(*) FROM stored_events")
    return int(rows[0][0])


def test_batch_is_appended_at_consecutive_positions_and_read_back_in_order(store: StoreHarness) -> None:
    with EventLog(store.config("log")) as log:
        batches: list[list[Event]] = [[make_schedule(0)], [lock(10, 1), lock(10, 2), checkpoint(10)]]
        batches += [[lock(20 + i, 10 + i), checkpoint(20 + i)] for i in range(10)]
        for batch in batches:
            log.append(batch)
        expected = [event for batch in batches for event in batch]
        read_back = list(log.iter_events(batch_size=7))
        assert [e.position for e in read_back] == list(range(1, len(expected) + 1))
        assert [e.event for e in read_back] == expected
        assert [e.position for e in log.read(after=10, limit=5)] == [11, 12, 13, 14, 15]
        assert log.head().position == len(expected)
    with EventLog(store.config("log")) as reopened:
        assert reopened.head() == log.head()


def test_a_batch_that_fails_part_way_leaves_nothing_behind(store: StoreHarness) -> None:
    with EventLog(store.config("log")) as log:
        log.append([checkpoint(1)])
        # Someone else's row sits at position 4: our batch for positions 2..6 must fail as a whole.
        intruder = seal(checkpoint(99), position=4, prev_hash=GENESIS_HASH)
        log.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=LOG_STREAM_ID,
                    originator_version=4,
                    topic=intruder.topic,
                    state=intruder.state,
                )
            ]
        )
        with pytest.raises(AppendConflictError, match="already taken"):
            log.append([lock(2, n) for n in range(1, 6)])
        positions = [
            row[0] for row in store.execute(log.config, "SELECT originator_version FROM stored_events")
        ]
        assert sorted(positions) == [1, 4]


def test_re_appending_the_same_batch_is_a_no_op_and_never_duplicates(store: StoreHarness) -> None:
    cfg = store.config("log")
    with EventLog(cfg) as writer, EventLog(cfg) as restarted_with_stale_view:
        batch: list[Event] = [lock(5, 1), checkpoint(5)]
        writer.append(batch)
        # A retry of exactly the same batch at the same positions (lost acknowledgement): no-op.
        head = restarted_with_stale_view.append(batch)
        assert head == writer.head(refresh=True)
        assert count_rows(store, writer) == 2
        # Different events at taken positions: refused, nothing written.
        with pytest.raises(AppendConflictError):
            EventLog(cfg).append([lock(6, 2), checkpoint(6)], expected_position=0)
        stale = EventLog(cfg)
        writer.append([checkpoint(7)])
        with pytest.raises(AppendConflictError):
            stale.append([checkpoint(8)])
        stale.close()
        assert count_rows(store, writer) == 3
        assert [e.event for e in writer.read()] == [*batch, checkpoint(7)]


def test_expected_position_is_checked_before_writing(store: StoreHarness) -> None:
    with EventLog(store.config("log")) as log:
        log.append([checkpoint(1)], expected_position=0)
        with pytest.raises(AppendConflictError, match="expected the log to end at position 0"):
            log.append([checkpoint(2)], expected_position=0)
        assert log.append([checkpoint(2)], expected_position=1).position == 2


def test_chain_cursor_and_intersection_points_follow_rollbacks(store: StoreHarness) -> None:
    with EventLog(store.config("log")) as log:
        assert log.chain_cursor() is None
        assert log.intersection_points() == []
        log.append([SubmissionFailed(tx_id="00" * 32, reason="local only")])
        assert log.chain_cursor() is None
        for slot in range(10, 110, 10):
            log.append([lock(slot, slot), checkpoint(slot)])
        assert log.chain_cursor() == checkpoint(100).point
        log.append([RolledBack(point=checkpoint(70).point)])
        assert log.chain_cursor() == checkpoint(70).point
        log.append([lock(75, 1000), checkpoint(75)])
        points = log.intersection_points(max_points=4)
        # Newest first, only points on the current chain (80..100 were rolled back), spread out.
        assert points[0] == checkpoint(75).point
        slots = [p.slot for p in points]
        assert slots == sorted(slots, reverse=True)
        assert not {80, 90, 100} & set(slots)
        assert slots[-1] == 10 and len(points) == 4
        log.append([RolledBack(point=ChainPoint.origin())])
        assert log.chain_cursor() == ChainPoint.origin()
        assert log.intersection_points() == [ChainPoint.origin()]


def test_simulated_chain_reads_back_exactly(store: StoreHarness) -> None:
    simulator = ChainSimulator()
    with EventLog(store.config("log")) as log:
        appended: list[Event] = []
        for step in range(30):
            batch: list[Event] = [simulator.rollback(2)] if step % 7 == 6 else simulator.next_block()
            log.append(batch)
            appended += batch
        assert [e.event for e in log.iter_events(batch_size=4)] == appended


def test_append_block_writes_the_events_and_the_cursor_together(store: StoreHarness) -> None:
    with EventLog(store.config("log")) as log:
        head = log.append_block(checkpoint(10).point, [lock(10, 1), lock(10, 2)])
        assert head.position == 3
        assert [type(e.event).__name__ for e in log.read()] == [
            "AllocationLocked",
            "AllocationLocked",
            "ChainCursorCheckpointed",
        ]
        assert log.chain_cursor() == checkpoint(10).point
        log.append_block(checkpoint(11).point)  # a block with nothing for us: cursor only
        assert log.chain_cursor() == checkpoint(11).point
        with pytest.raises(ValueError, match="not at the block's point"):
            log.append_block(checkpoint(12).point, [lock(13, 3)])
        with pytest.raises(ValueError, match="chain events only"):
            log.append_block(checkpoint(12).point, [make_schedule(0)])
        log.append_rollback(checkpoint(10).point)
        assert log.chain_cursor() == checkpoint(10).point
        assert log.head().position == 5


def test_sqlite_log_is_one_file_in_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    with EventLog(SQLiteConfig(tmp_path / "events.db")) as log:
        log.append([checkpoint(1)])
        conn = sqlite3.connect(tmp_path / "events.db")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
