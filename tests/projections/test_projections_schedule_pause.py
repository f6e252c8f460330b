"""A paused schedule in the projections and the eligibility rules (issue 15). Pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from milestoned.domain.eligibility import AllocationStatus, allocation_status
from milestoned.eventlog.events import ChainPoint, SchedulePauseChanged, ScheduleStateCreated
from milestoned.eventlog.testing import TEST_SLOTS
from milestoned.projections.changes import AddScheduleState, changes_for
from milestoned.projections.readmodels import (
    ChainTip,
    ExitFact,
    Facts,
    LockFact,
    ScheduleFact,
    SignatureFact,
    claimable_allocations,
    paused_schedules,
)

S = "ab" * 28
OTHER = "cd" * 28


def test_the_newest_state_of_each_schedule_decides_and_a_tie_counts_as_paused() -> None:
    assert paused_schedules([]) == frozenset()
    assert paused_schedules([(S, 0, 5), (S, 1, 7), (OTHER, 1, 5), (OTHER, 0, 6)]) == {S}
    assert paused_schedules([(S, 1, 7), (S, 0, 9)]) == frozenset()  # resumed later
    assert paused_schedules([(S, 0, 7), (S, 1, 7)]) == {S}  # two changes in one block: the safe side


def test_a_pause_makes_open_allocations_schedule_paused_but_not_released_ones() -> None:
    locks = (
        LockFact("a#0", S, "01", "alice", 5, 1000, "cc" * 32, 10),
        LockFact("b#0", S, "01", "bob", 5, 1000, "cc" * 32, 10),
        LockFact("c#0", OTHER, "01", "carol", 5, 1000, "cc" * 32, 10),
    )
    facts = Facts(
        schedules=(ScheduleFact(S, 1, frozenset({"k1"})), ScheduleFact(OTHER, 1, frozenset({"k1"}))),
        signatures=(SignatureFact(S, "01", "k1"), SignatureFact(OTHER, "01", "k1")),
        locks=locks,
        releases=(ExitFact("b#0", S, "ee" * 32, 20),),
        reclaims=(),
        tip=ChainTip(100, "dd" * 32, 2000),
        paused=frozenset({S}),
    )
    rows = {r.out_ref: r for r in claimable_allocations(facts)}
    assert (rows["a#0"].claimable_now, rows["a#0"].status) == (False, "schedule_paused")
    assert rows["b#0"].status == "already_claimed"
    assert (rows["c#0"].claimable_now, rows["c#0"].status) == (True, "claimable")
    resumed = {r.out_ref: r for r in claimable_allocations(replace(facts, paused=frozenset()))}
    assert (resumed["a#0"].claimable_now, resumed["a#0"].status) == (True, "claimable")


@pytest.mark.parametrize(
    ("released", "paused", "verified", "vested", "expected"),
    [
        (True, True, False, False, AllocationStatus.ALREADY_CLAIMED),
        (False, True, False, False, AllocationStatus.SCHEDULE_PAUSED),
        (False, True, True, True, AllocationStatus.SCHEDULE_PAUSED),
        (False, False, False, True, AllocationStatus.MILESTONE_NOT_VERIFIED),
        (False, False, True, False, AllocationStatus.VESTING_NOT_PASSED),
        (False, False, True, True, AllocationStatus.CLAIMABLE),
    ],
)
def test_schedule_paused_sits_between_already_claimed_and_milestone_not_verified(
    released: bool, paused: bool, verified: bool, vested: bool, expected: AllocationStatus
) -> None:
    status = allocation_status(
        released=released, milestone_verified=verified, vesting_passed=vested, paused=paused
    )
    assert status is expected


def test_state_events_become_slot_tagged_rows() -> None:
    point = ChainPoint(42, "ee" * 32)
    created = ScheduleStateCreated(point, "aa" * 32, S, "aa" * 32 + "#0", 0)
    changed = SchedulePauseChanged(point, "bb" * 32, S, "bb" * 32 + "#0", 1)
    assert changes_for(created, TEST_SLOTS)[0] == AddScheduleState(
        "aa" * 32 + "#0", S, 0, "aa" * 32, 42, "ee" * 32
    )
    assert changes_for(changed, TEST_SLOTS)[0] == AddScheduleState(
        "bb" * 32 + "#0", S, 1, "bb" * 32, 42, "ee" * 32
    )
