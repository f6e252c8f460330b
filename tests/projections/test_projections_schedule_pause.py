"""A paused schedule in the projections and the eligibility rules (issue 15): pure, and one store test
(SQLite and PostgreSQL) for two changes in one block and rollbacks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from milestoned.domain.eligibility import AllocationStatus, allocation_status
from milestoned.eventlog.events import ChainPoint, RolledBack, SchedulePauseChanged, ScheduleStateCreated
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import TEST_SLOTS, StoreHarness
from milestoned.projections.changes import AddScheduleState, AddStateSpend, changes_for
from milestoned.projections.projector import Projector
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
from milestoned.projections.store import ProjectionStore

S = "ab" * 28
OTHER = "cd" * 28


def ref(n: int) -> str:
    return f"{n:064x}#0"


def test_the_state_no_change_spent_decides_even_within_one_block() -> None:
    """The state is a chain of UTxOs: pause then resume in one block is not paused, resume then pause is,
    whatever order the rows come in."""
    states = [(S, ref(1), 0, 5), (S, ref(2), 1, 7), (S, ref(3), 0, 7)]
    assert paused_schedules(states, [(S, ref(1)), (S, ref(2))]) == frozenset()
    states = [(S, ref(1), 0, 5), (S, ref(2), 0, 7), (S, ref(3), 1, 7)]
    assert paused_schedules(states, [(S, ref(1)), (S, ref(2))]) == {S}
    assert paused_schedules(reversed(states), [(S, ref(2)), (S, ref(1))]) == {S}
    # a spend of another schedule's out-ref (or of a payer's input) says nothing about this one
    assert paused_schedules([(S, ref(1), 1, 5), (S, ref(2), 0, 5)], [(OTHER, ref(2))]) == {S}


def test_without_what_changes_spent_the_newest_state_decides_and_a_tie_counts_as_paused() -> None:
    """Changes recorded before they carried `spent`: the newest slot decides, a tie is the safe side."""
    assert paused_schedules([]) == frozenset()
    states = [(S, ref(1), 0, 5), (S, ref(2), 1, 7), (OTHER, ref(3), 1, 5), (OTHER, ref(4), 0, 6)]
    assert paused_schedules(states) == {S}
    assert paused_schedules([(S, ref(1), 1, 7), (S, ref(2), 0, 9)]) == frozenset()  # resumed later
    assert paused_schedules([(S, ref(1), 0, 7), (S, ref(2), 1, 7)]) == {S}  # one block, unordered


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
    spending = replace(changed, spent=("aa" * 32 + "#0", "ff" * 32 + "#2"))
    assert changes_for(spending, TEST_SLOTS)[1:3] == (
        AddStateSpend("aa" * 32 + "#0", S, "bb" * 32, 42, "ee" * 32),
        AddStateSpend("ff" * 32 + "#2", S, "bb" * 32, 42, "ee" * 32),
    )


def test_two_changes_in_one_block_and_rollbacks_in_the_store(store: StoreHarness) -> None:
    """On both backends: S is paused then resumed in block 20 (not paused), OTHER resumed then paused
    in it (paused); a rollback to 15 brings back each one's state before block 20, with the block's spends
    gone too (else OTHER's paused state would count as spent), and a new fork block reads as it says."""
    log, projections = EventLog(store.config("log")), ProjectionStore(store.config("proj"))
    projector = Projector(log, projections, TEST_SLOTS)

    def at(slot: int) -> ChainPoint:
        return ChainPoint(slot, f"{slot:064x}")

    def created(slot: int, sid: str, n: int) -> ScheduleStateCreated:
        return ScheduleStateCreated(at(slot), f"{n:064x}", sid, ref(n), 0)

    def changed(slot: int, sid: str, n: int, paused: int, previous: int) -> SchedulePauseChanged:
        payer = f"{n + 100:064x}#1"  # the payer's input: never a state, recorded beside it when no redeemer
        return SchedulePauseChanged(at(slot), f"{n:064x}", sid, ref(n), paused, (payer, ref(previous)))

    log.append([created(10, S, 1), created(10, OTHER, 11)])
    log.append([changed(15, OTHER, 12, 1, previous=11)])
    log.append([changed(20, S, 2, 1, previous=1), changed(20, S, 3, 0, previous=2)])
    log.append([changed(20, OTHER, 13, 0, previous=12), changed(20, OTHER, 14, 1, previous=13)])
    projector.catch_up()
    assert projections.facts().paused == {OTHER} == projections.paused_schedules()

    log.append([RolledBack(at(15))])
    projector.catch_up()
    assert projections.paused_schedules() == {OTHER}  # paused at 15; S back to its unpaused creation
    log.append([changed(16, OTHER, 15, 0, previous=12), changed(16, S, 4, 1, previous=1)])
    projector.catch_up()
    assert projections.paused_schedules() == {S}
    log.append([RolledBack(at(10))])
    projector.catch_up()
    assert projections.paused_schedules() == frozenset()
    for handle in (log, projections):
        handle.close()
