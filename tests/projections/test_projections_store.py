"""Projections on both backends: what users see, rollbacks, catch-up vs replay, crashes mid-batch."""

from __future__ import annotations

from typing import Any

import pytest

from milestoned.domain.attestation import sign_attestation
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReassigned,
    AllocationReclaimed,
    AllocationReleased,
    ChainCursorCheckpointed,
    ChainPoint,
    OracleSignatureCommitted,
    ReleaseSubmitted,
    RolledBack,
    SubmissionConfirmed,
    SubmissionReverted,
)
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import (
    TEST_SLOTS,
    ChainSimulator,
    StoreHarness,
    make_schedule,
    oracle_seed,
    oracle_signature,
)
from milestoned.projections.projector import Projector
from milestoned.projections.readmodels import ExitFact, SignatureFact
from milestoned.projections.replay import ReplayTargetNotEmptyError, compare, replay
from milestoned.projections.store import ProjectionStore

SCHEDULE = make_schedule(0)  # 3 oracles, quorum 2
SID = SCHEDULE.schedule_id
ALICE, BOB = "addr_test1qalice", "addr_test1qbob"


def point(slot: int) -> ChainPoint:
    return ChainPoint(slot=slot, header_hash=f"{slot:064x}")


def locked(
    slot: int, n: int, beneficiary: str, amount: int, vesting_slot: int, milestone: str = "01"
) -> AllocationLocked:
    return AllocationLocked(
        point=point(slot),
        tx_id=f"{n:064x}",
        schedule_id=SID,
        out_ref=f"{n:064x}#0",
        beneficiary=beneficiary,
        amount=amount,
        milestone_id=milestone,
        vesting_time_ms=TEST_SLOTS.slot_to_posix_ms(vesting_slot),
    )


def released(slot: int, n: int) -> AllocationReleased:
    return AllocationReleased(
        point=point(slot), tx_id=f"{1000 + n:064x}", schedule_id=SID, out_ref=f"{n:064x}#0"
    )


def checkpoint(slot: int) -> ChainCursorCheckpointed:
    return ChainCursorCheckpointed(point=point(slot))


def open_stores(store: StoreHarness) -> tuple[EventLog, ProjectionStore]:
    return EventLog(store.config("log")), ProjectionStore(store.config("proj"))


def test_milestone_state_and_claimable_amounts_as_a_user_expects(store: StoreHarness) -> None:
    log, projections = open_stores(store)
    projector = Projector(log, projections, TEST_SLOTS, batch_size=3)
    outsider = sign_attestation(oracle_seed(9, 9), bytes.fromhex(SID), bytes.fromhex("01"))
    log.append([SCHEDULE])
    log.append(
        [
            locked(100, 1, ALICE, 2**64 - 1, vesting_slot=150),
            locked(100, 2, BOB, 7, vesting_slot=90),
            checkpoint(100),
        ]
    )
    log.append([oracle_signature(0, 0, "01"), oracle_signature(0, 0, "01")])  # the same oracle twice
    log.append([oracle_signature(0, 1, "01", valid=False)])  # a bad signature
    log.append([OracleSignatureCommitted(SID, "01", outsider.oracle_key.hex(), outsider.signature.hex())])
    log.append([oracle_signature(0, 2, "02")])  # another milestone
    assert projector.catch_up() == 9

    [state] = [s for s in projections.milestone_states() if s.milestone_id == "01"]
    assert state.quorum == 2 and not state.quorum_reached
    assert state.signed_by == (SCHEDULE.policy.oracle_keys[0],)
    assert (state.allocations_locked, state.amount_locked) == (2, 2**64 - 1 + 7)
    bob = projections.claimable(BOB)
    assert [(a.milestone_verified, a.vesting_passed, a.claimable_now) for a in bob] == [(False, True, False)]

    log.append([oracle_signature(0, 2, "01")])  # second distinct oracle: quorum
    projector.catch_up()
    by_owner = {a.beneficiary: a for a in projections.claimable()}
    assert by_owner[BOB].claimable_now and by_owner[BOB].next_unlock_ms is None
    alice = by_owner[ALICE]
    assert alice.milestone_verified and not alice.vesting_passed and not alice.claimable_now
    assert alice.next_unlock_ms == TEST_SLOTS.slot_to_posix_ms(150)
    assert alice.amount == 2**64 - 1 and alice.slot == 100

    log.append(
        [ReleaseSubmitted(tx_id=f"{1002:064x}", allocation_refs=(bob[0].out_ref,), validity_upper_slot=300)]
    )
    log.append([released(160, 2), checkpoint(160)])
    log.append([SubmissionConfirmed(tx_id=f"{1002:064x}")])
    projector.catch_up()
    by_owner = {a.beneficiary: a for a in projections.claimable()}
    assert by_owner[BOB].released and not by_owner[BOB].claimable_now
    assert by_owner[ALICE].vesting_passed and by_owner[ALICE].claimable_now  # chain time moved to slot 160
    [state] = [s for s in projections.milestone_states() if s.milestone_id == "01"]
    assert state.quorum_reached and (state.allocations_released, state.amount_released) == (1, 7)
    tip = projections.chain_tip()
    assert tip is not None and tip.slot == 160 and tip.chain_time_ms == TEST_SLOTS.slot_to_posix_ms(160)
    [submission] = projections.submissions()
    assert (submission.status, submission.allocation_refs, submission.validity_upper_slot) == (
        "confirmed",
        (bob[0].out_ref,),
        300,
    )
    assert projections.submissions(status="submitted") == []

    # the release's block is rolled back: the allocation is locked again, the submission live again
    log.append([RolledBack(ChainPoint(150, "ab" * 32))])
    log.append([SubmissionReverted(tx_id=f"{1002:064x}", reason="rolled back")])
    projector.catch_up()
    by_owner = {a.beneficiary: a for a in projections.claimable()}
    assert not by_owner[BOB].released and by_owner[BOB].claimable_now
    [submission] = projections.submissions(status="submitted")
    assert (submission.tx_id, submission.reason) == (f"{1002:064x}", "rolled back")
    log.close()
    projections.close()


def test_one_beneficiarys_facts_hold_only_its_own_locks_releases_and_reclaims(store: StoreHarness) -> None:
    """A claimable answer for one address reads that address' rows, not every exit of every schedule
    (at 10,000 allocations, every release would be read for each beneficiary's question)."""
    log, projections = open_stores(store)
    log.append([SCHEDULE])
    log.append(
        [
            locked(100, 1, ALICE, 5, vesting_slot=90),
            locked(100, 2, BOB, 7, vesting_slot=90),
            locked(100, 3, BOB, 9, vesting_slot=90),
            locked(100, 4, ALICE, 11, vesting_slot=90),
            checkpoint(100),
        ]
    )
    reclaim = AllocationReclaimed(
        point=point(170), tx_id=f"{2003:064x}", schedule_id=SID, out_ref=f"{3:064x}#0"
    )
    log.append([released(160, 1), released(160, 2), reclaim, checkpoint(170)])
    Projector(log, projections, TEST_SLOTS).catch_up()

    alice = projections.facts(beneficiary=ALICE)
    assert sorted(lock.amount for lock in alice.locks) == [5, 11]
    assert [e.out_ref for e in alice.releases] == [f"{1:064x}#0"] and alice.reclaims == ()
    bob = projections.facts(beneficiary=BOB)
    assert [e.out_ref for e in bob.releases] == [f"{2:064x}#0"]
    assert [(e.out_ref, e.tx_id, e.slot) for e in bob.reclaims] == [(f"{3:064x}#0", f"{2003:064x}", 170)]
    everyone = projections.facts()
    assert len(everyone.releases) == 2 and len(everyone.reclaims) == 1 and len(everyone.locks) == 4
    assert alice.schedules == everyone.schedules and alice.tip == everyone.tip
    for who, facts in ((ALICE, alice), (BOB, bob)):  # every field as the unfiltered read gives it
        assert set(facts.locks) == {lock for lock in everyone.locks if lock.beneficiary == who}
        mine = {lock.out_ref for lock in facts.locks}
        assert set(facts.releases) == {e for e in everyone.releases if e.out_ref in mine}
        assert set(facts.reclaims) == {e for e in everyone.reclaims if e.out_ref in mine}
        # no allocation moved: a row with a release or a reclaim is no move
        assert set(facts.moves) == {e for e in everyone.moves if e.out_ref in mine} == set()
    assert projections.facts(beneficiary="addr_test1qnobody").releases == ()
    by_ref = {a.out_ref: a for a in projections.claimable(BOB)}
    assert by_ref[f"{2:064x}#0"].released and by_ref[f"{3:064x}#0"].reclaimed
    assert [a.released for a in projections.claimable(ALICE)] == [True, False]
    log.close()
    projections.close()


def test_a_rollback_undoes_exactly_the_rows_above_its_point(store: StoreHarness) -> None:
    log, projections = open_stores(store)
    projector = Projector(log, projections, TEST_SLOTS)
    log.append([SCHEDULE])
    log.append([locked(10, 1, ALICE, 1, 0), checkpoint(10)])
    log.append([locked(20, 2, ALICE, 2, 0), checkpoint(20)])
    log.append([oracle_signature(0, 0, "01")])
    log.append([locked(30, 3, BOB, 3, 0), released(30, 1), checkpoint(30)])
    log.append(
        [AllocationReclaimed(point=point(40), tx_id="ee" * 32, schedule_id=SID, out_ref=f"{2:064x}#0")]
    )
    projector.catch_up()
    before_fork = ProjectionStore(store.config("before"))
    # What the projections must look like after the fork: exactly the state after slot 20 + the signature.
    expected_log = EventLog(store.config("expected"))
    expected_log.append([SCHEDULE])
    expected_log.append([locked(10, 1, ALICE, 1, 0), checkpoint(10)])
    expected_log.append([locked(20, 2, ALICE, 2, 0), checkpoint(20)])
    expected_log.append([oracle_signature(0, 0, "01")])
    replay(expected_log, before_fork, TEST_SLOTS)

    log.append([RolledBack(point=point(20))])
    projector.catch_up()
    assert projections.dump(include_position=False) == before_fork.dump(include_position=False)
    claims = {a.out_ref: a for a in projections.claimable()}
    assert sorted(claims) == [f"{1:064x}#0", f"{2:064x}#0"]  # the lock at slot 30 is gone
    assert {a.slot for a in claims.values()} == {10, 20}
    assert all(not a.released and not a.reclaimed for a in claims.values())
    assert [s.signed_by for s in projections.milestone_states()] == [(SCHEDULE.policy.oracle_keys[0],)]

    log.append([RolledBack(point=ChainPoint.origin())])
    projector.catch_up()
    assert projections.claimable() == [] and projections.chain_tip() is None
    signed = SignatureFact(SID, "01", SCHEDULE.policy.oracle_keys[0])
    assert projections.facts().signatures == (signed,)  # local facts are never rolled back
    for handle in (log, projections, before_fork, expected_log):
        handle.close()


def test_catch_up_in_small_batches_equals_a_replay(store: StoreHarness) -> None:
    log, projections = open_stores(store)
    simulator = ChainSimulator()
    log.append([make_schedule(0), make_schedule(1)])
    projector = Projector(log, projections, TEST_SLOTS, batch_size=4)
    for step in range(60):
        if step % 9 == 8:
            log.append([simulator.rollback(3)])
        elif step % 5 == 0:
            log.append(
                [oracle_signature(step % 2, step % 3, "01"), oracle_signature(step % 2, (step + 1) % 3, "02")]
            )
        else:
            log.append(simulator.next_block())
        if step % 4 == 0:
            projector.catch_up_once()
    projector.catch_up()
    assert projections.position() == log.head().position
    fresh = ProjectionStore(store.config("replay"))
    report = replay(log, fresh, TEST_SLOTS)
    assert report.position == log.head().position
    comparison = compare(projections, fresh)
    assert comparison.equal and comparison.differing_tables == ()
    assert projections.dump() == fresh.dump()
    with pytest.raises(ReplayTargetNotEmptyError, match="already at position"):
        replay(log, fresh, TEST_SLOTS)
    for handle in (log, projections, fresh):
        handle.close()


class Crash(RuntimeError):
    pass


def test_a_crash_inside_a_projection_batch_leaves_rows_and_position_consistent(
    store: StoreHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, projections = open_stores(store)
    simulator = ChainSimulator()
    log.append([make_schedule(0), make_schedule(1)])
    for _ in range(10):
        log.append(simulator.next_block())
    projector = Projector(log, projections, TEST_SLOTS, batch_size=8)
    projector.catch_up_once()
    position, rows = projections.position(), projections.dump()
    for _ in range(10):
        log.append(simulator.next_block())

    # Crash after every row of the batch and the new position were written, before commit.
    def crash() -> None:
        raise Crash

    with pytest.raises(Crash):
        projections.apply([], log.head().position, before_commit=crash)
    assert (projections.position(), projections.dump()) == (position, rows)

    # Crash half-way through the rows of a batch.
    original = ProjectionStore._execute_run
    calls = {"n": 0}

    def crash_on_second_run(
        self: ProjectionStore, cursor: object, change_type: type, changes: list[Any]
    ) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        original(self, cursor, change_type, changes)

    monkeypatch.setattr(ProjectionStore, "_execute_run", crash_on_second_run)
    with pytest.raises(Crash):
        projector.catch_up_once()
    assert calls["n"] >= 2
    assert (projections.position(), projections.dump()) == (position, rows)
    monkeypatch.setattr(ProjectionStore, "_execute_run", original)

    projector.catch_up()
    fresh = ProjectionStore(store.config("replay"))
    replay(log, fresh, TEST_SLOTS)
    assert projections.dump() == fresh.dump()
    for handle in (log, projections, fresh):
        handle.close()


def test_signatures_that_do_not_verify_never_count(store: StoreHarness) -> None:
    log, projections = open_stores(store)
    good = oracle_signature(0, 0, "01")
    assert isinstance(good, OracleSignatureCommitted)
    forged = OracleSignatureCommitted(SID, "01", good.oracle_key, "00" * 64)
    truncated = OracleSignatureCommitted(SID, "01", good.oracle_key[:-2], good.signature)
    other_milestone = OracleSignatureCommitted(SID, "02", good.oracle_key, good.signature)
    other_schedule = OracleSignatureCommitted("cd" * 28, "01", good.oracle_key, good.signature)
    log.append([make_schedule(0), forged, truncated, other_milestone, other_schedule])
    Projector(log, projections, TEST_SLOTS).catch_up()
    assert projections.facts().signatures == ()
    assert [fact.schedule_id for fact in projections.facts().schedules] == [SID]
    log.append([good])
    Projector(log, projections, TEST_SLOTS).catch_up()
    assert projections.facts().signatures == (SignatureFact(SID, "01", good.oracle_key),)
    log.close()
    projections.close()


def test_one_beneficiarys_facts_hold_the_moves_of_its_locks(store: StoreHarness) -> None:
    """Alice moves her allocation to Bob (issue 15): her facts hold the move of her old out-ref, Bob's the
    lock at the new one, as the unfiltered read gives them."""
    log, projections = open_stores(store)
    log.append([SCHEDULE, locked(100, 1, ALICE, 5, vesting_slot=90), checkpoint(100)])
    new_ref = f"{2001:064x}#0"
    move = AllocationReassigned(
        point=point(150),
        tx_id=f"{2001:064x}",
        schedule_id=SID,
        out_ref=f"{1:064x}#0",
        new_out_ref=new_ref,
        old_beneficiary=ALICE,
        new_beneficiary=BOB,
    )
    relocked = AllocationLocked(
        point=point(150),
        tx_id=f"{2001:064x}",
        schedule_id=SID,
        out_ref=new_ref,
        beneficiary=BOB,
        amount=5,
        milestone_id="01",
        vesting_time_ms=TEST_SLOTS.slot_to_posix_ms(90),
    )
    log.append([move, relocked, checkpoint(150)])
    Projector(log, projections, TEST_SLOTS).catch_up()
    moved = ExitFact(f"{1:064x}#0", SID, f"{2001:064x}", 150)
    assert projections.facts().moves == (moved,)
    alice, bob = projections.facts(beneficiary=ALICE), projections.facts(beneficiary=BOB)
    assert (alice.moves, alice.releases, alice.reclaims) == ((moved,), (), ())
    assert [lock.out_ref for lock in bob.locks] == [new_ref] and bob.moves == ()
    log.close()
    projections.close()


def test_projections_may_share_the_log_database_and_follow_it_in_a_thread(store: StoreHarness) -> None:
    import threading

    cfg = store.config("shared")
    log, projections = EventLog(cfg), ProjectionStore(cfg)
    simulator = ChainSimulator()
    log.append([make_schedule(0)])
    stop = threading.Event()
    follower = threading.Thread(
        target=Projector(log, projections, TEST_SLOTS, batch_size=5).follow, args=(stop, 0.01)
    )
    follower.start()
    try:
        for _ in range(15):
            log.append(simulator.next_block())
        for _ in range(2000):  # bounded wait for the follower; not a timing assertion
            if projections.position() == log.head().position:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        follower.join()
    assert projections.position() == log.head().position
    fresh = ProjectionStore(store.config("replay"))
    replay(log, fresh, TEST_SLOTS)
    assert projections.dump() == fresh.dump()
    for handle in (log, projections, fresh):
        handle.close()


def test_between_batches_is_called_before_each_batch_after_the_first(store: StoreHarness) -> None:
    """The daemon's projections job pauses there for socket queries: between two batches, each applied
    whole (the position at each call is a batch's end), never inside one."""
    log, projections = open_stores(store)
    log.append([make_schedule(0)] + [checkpoint(slot) for slot in range(1, 10)])  # 10 events
    projector = Projector(log, projections, TEST_SLOTS, batch_size=4)
    positions: list[int] = []
    assert projector.catch_up(1, lambda: positions.append(projections.position())) == 4
    assert positions == []  # one batch: nothing between
    assert projector.catch_up(None, lambda: positions.append(projections.position())) == 6
    assert positions == [8]  # batches 5-8 and 9-10: one call, after the first was applied
    assert projections.position() == 10
    for handle in (log, projections):
        handle.close()
