"""The unlock timeline's points: exact cumulative values at each vesting and release time, thinned."""

from __future__ import annotations

from milestoned.domain.eligibility import allocation_status
from milestoned.projections.readmodels import ClaimableAllocation, ExitFact
from milestoned.projections.slots import SlotConfig
from milestoned.web.timeline import MAX_POINTS, build_timeline

SLOTS = SlotConfig(zero_time_ms=0, zero_slot=0, slot_length_ms=1000)


def allocation(
    ref: str,
    amount: int,
    vests: int,
    *,
    verified: bool,
    released: bool = False,
    cancelled: bool = False,
    paused: bool = False,
) -> ClaimableAllocation:
    """A row as the projections build it: its status by the domain's precedence (chain time 0)."""
    status = allocation_status(
        released=released,
        milestone_verified=verified,
        vesting_passed=False,
        milestone_cancelled=cancelled,
        paused=paused,
    )
    return ClaimableAllocation(
        beneficiary="addr",
        out_ref=ref,
        schedule_id="s",
        milestone_id="4d31",
        amount=amount,
        vesting_time_ms=vests,
        milestone_verified=verified,
        vesting_passed=False,
        released=released,
        reclaimed=False,
        claimable_now=False,
        next_unlock_ms=None,
        slot=0,
        milestone_cancelled=cancelled,
        status=status.value,
        schedule_paused=paused,
    )


def test_points_at_vesting_and_release_times_with_cumulative_values() -> None:
    rows = [
        allocation("a", 10, 5_000, verified=True, released=True),
        allocation("b", 20, 5_000, verified=True),
        allocation("c", 40, 9_000, verified=False),
    ]
    releases = {"a": ExitFact("a", "s", "tx", 7)}  # slot 7 = 7,000 ms
    timeline = build_timeline(rows, releases, {}, {"a": 1, "b": 1, "c": 1}, SLOTS, 8_000, 100_000)
    got = [(p.time_ms, p.locked, p.vested, p.claimable, p.released, p.vesting_mark) for p in timeline.points]
    assert got == [
        (5_000, 70, 30, 20, 0, True),
        (7_000, 60, 30, 20, 10, False),
        (8_000, 60, 30, 20, 10, False),  # now
        (9_000, 60, 70, 20, 10, True),
    ]
    assert timeline.total == 70 and timeline.vesting_times == 2


def test_ten_thousand_vesting_times_are_thinned_to_exact_points() -> None:
    rows = [allocation(f"r{i}", 1, 1_000 * (i + 1), verified=True) for i in range(10_000)]
    timeline = build_timeline(rows, {}, {}, {}, SLOTS, 5_000_500, 10**9)
    times = [p.time_ms for p in timeline.points]
    assert len(times) <= MAX_POINTS + 1
    assert times[0] == 1_000 and times[-1] == 10_000_000 and 5_000_500 in times
    for p in timeline.points:  # exact values, not interpolated: vested(t) = number of vesting times <= t
        assert p.vested == min(10_000, p.time_ms // 1_000)


def test_claimable_leaves_out_what_a_pause_or_a_cancellation_holds_back() -> None:
    """Claimable is what only time holds back: a paused schedule's verified allocations and a cancelled
    milestone's are vested at their time, but nobody can release them, so they are not claimable."""
    rows = [
        allocation("open", 1, 5_000, verified=True),
        allocation("paused", 10, 5_000, verified=True, paused=True),
        allocation("cancelled", 100, 5_000, verified=True, cancelled=True),
        allocation("unverified", 1_000, 5_000, verified=False),
    ]
    timeline = build_timeline(rows, {}, {}, {}, SLOTS, 6_000, 100_000)
    got = [(p.time_ms, p.vested, p.claimable) for p in timeline.points]
    assert got == [(5_000, 1_111, 1), (6_000, 1_111, 1)]
