"""The follower's steps (roll forward, roll backward, checkpoint, restart) on a real SQLite event log.

These drive the synchronous steps directly with hand-built blocks; the devnet tests drive the whole
follower over a WebSocket.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from indexer_support import (
    CONTRACT,
    SCHEDULE,
    ChainBuilder,
    chain_point_of,
    out_ref,
    payout,
    point_of,
    register,
    registered,
    spend,
)

from milestoned.domain import onchain_types as ot
from milestoned.eventlog import EventLog
from milestoned.eventlog.config import StoreConfig
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReleased,
    ChainCursorCheckpointed,
    ChainPoint,
    RolledBack,
)
from milestoned.indexer.config import FollowerConfig, parse_start_point
from milestoned.indexer.follower import ChainFollower
from milestoned.indexer.intersection import spread
from milestoned.indexer.state import FollowerState
from milestoned.ogmios.model import ORIGIN, Point, RollBackward

SID = SCHEDULE.schedule_id.hex()


@pytest.fixture
def event_log(store_config: StoreConfig) -> Iterator[EventLog]:
    with EventLog(store_config) as opened:
        opened.append([registered(SCHEDULE)])
        yield opened


def follower_on(event_log: EventLog, every: int = 3) -> ChainFollower:
    return ChainFollower(
        event_log,
        CONTRACT,
        FollowerConfig(start=ORIGIN, checkpoint_every_blocks=every, checkpoint_every_seconds=3600),
    )


def kinds(event_log: EventLog) -> list[str]:
    return [type(e.event).__name__ for e in event_log.iter_events()]


def test_relevant_blocks_are_written_with_their_cursor_and_others_only_every_n(event_log: EventLog) -> None:
    follower = follower_on(event_log, every=3)
    chain = ChainBuilder()
    locking = register(SCHEDULE)
    follower.roll_forward(chain.block(locking))
    follower.roll_forward(chain.block())
    follower.roll_forward(chain.block())
    assert kinds(event_log) == ["ScheduleRegistered", "AllocationLocked", "ChainCursorCheckpointed"]
    follower.roll_forward(chain.block())
    last = event_log.read(after=3)
    assert [type(e.event) for e in last] == [ChainCursorCheckpointed]
    assert isinstance(last[0].event, ChainCursorCheckpointed)
    assert last[0].event.point == chain_point_of(chain.blocks[3])
    release = spend(SCHEDULE, [out_ref(locking, 0)], ot.Release([]), outputs=[payout(SCHEDULE)])
    follower.roll_forward(chain.block(release))
    assert kinds(event_log)[-2:] == ["AllocationReleased", "ChainCursorCheckpointed"]
    assert follower.state.open_allocations == {}


def test_a_rollback_over_written_blocks_is_recorded_and_undone_in_memory(event_log: EventLog) -> None:
    follower = follower_on(event_log, every=100)
    chain = ChainBuilder()
    locking = register(SCHEDULE)
    follower.roll_forward(chain.block(locking))
    follower.roll_forward(chain.block())
    release = spend(SCHEDULE, [out_ref(locking, 0)], ot.Release([]), outputs=[payout(SCHEDULE)])
    follower.roll_forward(chain.block(release))
    assert follower.state.open_allocations == {}
    fork_point = point_of(chain.blocks[1])
    follower.roll_backward(RollBackward(fork_point, ORIGIN))
    assert isinstance(event_log.read(after=event_log.head().position - 1)[0].event, RolledBack)
    assert follower.state.open_allocations == {out_ref(locking, 0): SID}
    assert follower.position == fork_point


def test_a_rollback_over_unwritten_blocks_writes_nothing(event_log: EventLog) -> None:
    follower = follower_on(event_log, every=100)
    chain = ChainBuilder()
    follower.roll_forward(chain.block(register(SCHEDULE)))
    for _ in range(4):
        follower.roll_forward(chain.block())
    before = event_log.head().position
    target = point_of(chain.blocks[2])
    follower.roll_backward(RollBackward(target, ORIGIN))
    assert event_log.head().position == before
    assert follower.position == target
    # ... and a rollback to the written point itself (what follows findIntersection) is idempotent too
    written = point_of(chain.blocks[0])
    follower.roll_backward(RollBackward(written, ORIGIN))
    assert event_log.head().position == before


def test_stop_records_the_in_memory_cursor(event_log: EventLog) -> None:
    follower = follower_on(event_log, every=100)
    chain = ChainBuilder()
    for _ in range(5):
        follower.roll_forward(chain.block())
    follower.checkpoint()
    assert event_log.chain_cursor() == chain_point_of(chain.blocks[-1])
    head = event_log.head().position
    follower.checkpoint()
    assert event_log.head().position == head


def test_a_restarted_follower_rebuilds_its_state_from_the_log(event_log: EventLog) -> None:
    first = follower_on(event_log, every=1)
    chain = ChainBuilder()
    locking = register(SCHEDULE, count=3)
    first.roll_forward(chain.block(locking))
    first.roll_forward(chain.block(spend(SCHEDULE, [out_ref(locking, 1)], ot.Reclaim())))
    for _ in range(30):
        first.roll_forward(chain.block())
    second = follower_on(event_log)
    assert second.state.open_allocations == first.state.open_allocations
    assert set(second.state.open_allocations) == {out_ref(locking, 0), out_ref(locking, 2)}
    assert second.state.written == first.state.written
    candidates = second.recorded_intersection_points()
    newest_first = [point_of(b) for b in reversed(chain.blocks)]
    assert candidates[:10] == newest_first[:10]
    assert candidates[-1] == newest_first[-1]
    assert all(c in newest_first for c in candidates)


def test_schedules_registered_later_are_picked_up(event_log: EventLog, store_config: StoreConfig) -> None:
    from indexer_support import OTHER_SCHEDULE

    follower = follower_on(event_log)
    with EventLog(store_config) as command_side:
        command_side.append([registered(OTHER_SCHEDULE)])
    chain = ChainBuilder()
    follower.roll_forward(chain.block())  # our cached head is stale now: the next append must cope
    follower.fold_log()
    follower.roll_forward(chain.block(register(OTHER_SCHEDULE)))
    locked = [e.event for e in event_log.iter_events() if isinstance(e.event, AllocationLocked)]
    assert [e.schedule_id for e in locked] == [OTHER_SCHEDULE.schedule_id.hex()]


def test_a_schedule_appended_to_the_shared_log_counts_for_the_very_next_block(event_log: EventLog) -> None:
    """The daemon records a schedule, then its registration lands in the next block, well within the
    refresh interval: the follower must know the schedule before filtering that block (no back-fill)."""
    from indexer_support import OTHER_SCHEDULE

    follower = ChainFollower(
        event_log,
        CONTRACT,
        FollowerConfig(start=ORIGIN, checkpoint_every_seconds=3600, schedule_refresh_seconds=3600),
    )
    chain = ChainBuilder()
    follower.roll_forward(chain.block())
    event_log.append([registered(OTHER_SCHEDULE)])  # the command side, same log instance
    follower.roll_forward(chain.block(register(OTHER_SCHEDULE)))
    locked = [e.event for e in event_log.iter_events() if isinstance(e.event, AllocationLocked)]
    assert [e.schedule_id for e in locked] == [OTHER_SCHEDULE.schedule_id.hex()]


def test_a_concurrent_append_is_retried_after_re_reading_the_log(
    event_log: EventLog, store_config: StoreConfig
) -> None:
    from indexer_support import OTHER_SCHEDULE

    follower = follower_on(event_log)
    with EventLog(store_config) as command_side:
        command_side.append([registered(OTHER_SCHEDULE)])
    chain = ChainBuilder()
    follower.roll_forward(chain.block(register(SCHEDULE)))  # the append finds the log moved on
    assert kinds(event_log)[-3:] == ["ScheduleRegistered", "AllocationLocked", "ChainCursorCheckpointed"]
    assert OTHER_SCHEDULE.schedule_id.hex() in follower.state.schedules


def test_state_fold_reopens_what_a_rollback_unspends() -> None:
    state = FollowerState()
    p1, p2, p3 = (ChainPoint(s, f"{s:064x}") for s in (10, 20, 30))
    state.apply(
        AllocationLocked(
            point=p1,
            tx_id="aa" * 32,
            schedule_id=SID,
            out_ref="aa" * 32 + "#0",
            beneficiary="addr_test1x",
            amount=5,
            milestone_id="01",
            vesting_time_ms=0,
        )
    )
    state.apply(AllocationReleased(point=p3, tx_id="bb" * 32, schedule_id=SID, out_ref="aa" * 32 + "#0"))
    assert state.open_allocations == {}
    assert list(state.recent_points) == [p1, p3]
    state.apply(RolledBack(point=p2))
    assert state.open_allocations == {"aa" * 32 + "#0": SID}
    assert state.written == p2
    assert list(state.recent_points) == [p1, p2]  # p3 left the chain: never offered to findIntersection
    state.apply(RolledBack(point=ChainPoint(5, "05" * 32)))
    assert state.open_allocations == {}


def test_spread_keeps_the_newest_ten_then_doubles_back_to_the_oldest() -> None:
    points = list(range(1000))
    chosen = spread(points)
    assert chosen[:10] == list(range(10))
    assert chosen[-1] == 999
    gaps = [b - a for a, b in itertools.pairwise(chosen[9:-1])]
    assert gaps == sorted(gaps) and gaps[0] == 2
    assert spread([1, 2, 3]) == [1, 2, 3]
    assert len(spread(list(range(10**6)))) <= 30


def test_start_points_parse_or_say_what_to_write() -> None:
    assert parse_start_point("origin") == ORIGIN
    assert parse_start_point("tip") == "tip"
    assert parse_start_point(f"42.{'AB' * 32}") == Point(42, "ab" * 32)
    with pytest.raises(ValueError, match=r"SLOT\.HEADER_HASH"):
        parse_start_point("42:abc")
    with pytest.raises(ValueError, match="checkpoint_every_blocks"):
        FollowerConfig(checkpoint_every_blocks=0)


def test_while_catching_up_blocks_are_held_and_written_together(event_log: EventLog) -> None:
    follower = ChainFollower(
        event_log,
        CONTRACT,
        FollowerConfig(start=ORIGIN, checkpoint_every_seconds=3600, write_batch_blocks=3),
    )
    chain = ChainBuilder()
    locking = register(SCHEDULE, count=2)
    follower.roll_forward(chain.block(locking), at_tip=False)
    follower.roll_forward(chain.block(), at_tip=False)
    release = spend(SCHEDULE, [out_ref(locking, 0)], ot.Release([]), outputs=[payout(SCHEDULE)])
    follower.roll_forward(chain.block(release), at_tip=False)  # the held lock is already known
    assert kinds(event_log) == ["ScheduleRegistered"]
    follower.roll_forward(chain.block(spend(SCHEDULE, [out_ref(locking, 1)], ot.Reclaim())), at_tip=False)
    assert kinds(event_log)[1:] == [
        "AllocationLocked",
        "AllocationLocked",
        "ChainCursorCheckpointed",
        "AllocationReleased",
        "ChainCursorCheckpointed",
        "AllocationReclaimed",
        "ChainCursorCheckpointed",
    ]
    follower.roll_forward(chain.block(register(SCHEDULE)), at_tip=False)
    before = event_log.head().position
    follower.roll_backward(RollBackward(point_of(chain.blocks[1]), ORIGIN))  # held blocks go first
    written = [type(e.event).__name__ for e in event_log.read(after=before)]
    assert written == ["AllocationLocked", "ChainCursorCheckpointed", "RolledBack"]
    assert follower.state.position == event_log.head().position
    again = follower_on(event_log)
    assert again.state.open_allocations == follower.state.open_allocations


def test_spent_allocations_below_the_lookback_are_forgotten_but_open_ones_kept() -> None:
    state = FollowerState(lookback=4)

    def point(slot: int) -> ChainPoint:
        return ChainPoint(slot, f"{slot:064x}")

    def locked(slot: int, ref: str) -> AllocationLocked:
        return AllocationLocked(
            point=point(slot),
            tx_id="aa" * 32,
            schedule_id=SID,
            out_ref=ref,
            beneficiary="addr_test1x",
            amount=1,
            milestone_id="01",
            vesting_time_ms=0,
        )

    kept, spent = "aa" * 32 + "#0", "aa" * 32 + "#1"
    state.apply_all([locked(1, kept), locked(2, spent)])
    state.apply(AllocationReleased(point=point(3), tx_id="bb" * 32, schedule_id=SID, out_ref=spent))
    for slot in range(4, 200):
        state.apply(ChainCursorCheckpointed(point=point(slot)))
    assert len(state.recent_points) == 4
    assert state.open_allocations == {kept: SID}
    assert spent not in state._spent_at and spent not in state._locked_at
    state.apply(RolledBack(point=point(196)))
    assert state.open_allocations == {kept: SID}


def test_after_a_failed_write_the_state_is_rebuilt_from_the_log(event_log: EventLog) -> None:
    follower = follower_on(event_log)
    chain = ChainBuilder()
    follower.roll_forward(chain.block(register(SCHEDULE)))
    written = dict(follower.state.open_allocations)
    real_append = event_log.append

    def failing_append(*args: object, **kwargs: object) -> object:
        raise OSError("disk full")

    event_log.append = failing_append  # type: ignore[method-assign,assignment]
    with pytest.raises(OSError, match="disk full"):
        follower.roll_forward(chain.block(register(SCHEDULE, count=2)))
    assert len(follower.state.open_allocations) == 3  # folded in, but never written
    follower.checkpoint()  # refuses to write from a state it cannot trust (and does not raise)
    event_log.append = real_append  # type: ignore[method-assign]
    follower._reload_from_log()
    assert follower.state.open_allocations == written
    assert follower.position is None


def test_the_position_health_reads_reaches_a_block_only_after_its_events_are_in_the_log(
    event_log: EventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's health reads the follower's position from another thread: seen at the tip while the
    tip's events were still being appended, a client took the daemon for caught up and read answers
    without them (test_daemon_scale_queries under load)."""
    follower = follower_on(event_log)
    chain = ChainBuilder()
    seen_while_appending: list[Any] = []
    append = event_log.append

    def observed(*args: Any, **kwargs: Any) -> Any:
        seen_while_appending.append(follower.progress().position)
        return append(*args, **kwargs)

    monkeypatch.setattr(event_log, "append", observed)
    locking = register(SCHEDULE)
    first = chain.block(locking)
    follower.roll_forward(first, at_tip=True)
    second = chain.block(spend(SCHEDULE, [out_ref(locking, 0)], ot.Release([]), outputs=[payout(SCHEDULE)]))
    follower.roll_forward(second, at_tip=True)
    assert seen_while_appending == [None, point_of(first)]  # never the block being written
    assert follower.progress().position == point_of(second)
