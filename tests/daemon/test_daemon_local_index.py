"""The daemon's fold of the log: which release submissions are live (their allocations must not be
released again) through confirmation, a rolled-back confirmation, expiry and failure."""

from __future__ import annotations

from milestoned.daemon.local_index import LocalIndex
from milestoned.eventlog.events import (
    ReleaseSubmitted,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionReverted,
)

TX_A, TX_B = "aa" * 32, "bb" * 32
REFS_A = ("11" * 32 + "#0", "11" * 32 + "#1")
REFS_B = ("22" * 32 + "#0",)


def fold(*events: object) -> LocalIndex:
    index = LocalIndex()
    for event in events:
        index.apply(event)  # type: ignore[arg-type]
    return index


def test_a_reverted_confirmation_makes_the_submission_live_again() -> None:
    submitted = ReleaseSubmitted(tx_id=TX_A, allocation_refs=REFS_A, validity_upper_slot=500)
    assert fold(submitted).in_flight_refs() == {ref: TX_A for ref in REFS_A}
    confirmed = fold(submitted, SubmissionConfirmed(tx_id=TX_A))
    assert confirmed.in_flight == {} and confirmed.submitted == {TX_A: REFS_A}
    reverted = fold(submitted, SubmissionConfirmed(tx_id=TX_A), SubmissionReverted(tx_id=TX_A))
    assert reverted.in_flight_refs() == {ref: TX_A for ref in REFS_A}
    again = fold(
        submitted,
        SubmissionConfirmed(tx_id=TX_A),
        SubmissionReverted(tx_id=TX_A),
        SubmissionConfirmed(tx_id=TX_A),
    )
    assert again.in_flight == {}


def test_expired_and_failed_submissions_are_closed_for_good() -> None:
    a = ReleaseSubmitted(tx_id=TX_A, allocation_refs=REFS_A, validity_upper_slot=500)
    b = ReleaseSubmitted(tx_id=TX_B, allocation_refs=REFS_B, validity_upper_slot=500)
    index = fold(a, b, SubmissionExpired(tx_id=TX_A), SubmissionFailed(tx_id=TX_B))
    assert index.in_flight == {} and index.submitted == {}
    # a stray revert of a closed submission (it cannot come from the daemon) changes nothing
    index.apply(SubmissionReverted(tx_id=TX_A))
    assert index.in_flight == {}


def test_a_new_embedded_devnet_chain_closes_the_previous_chains_submissions(tmp_path: object) -> None:
    """The embedded devnet is a new chain on every start: what was submitted on the old one can never
    be included, so it is recorded as failed (not left pending), after the rollback to the origin."""
    from pathlib import Path

    from milestoned.daemon.app import forget_previous_devnet_chain
    from milestoned.eventlog import EventLog, SQLiteConfig
    from milestoned.eventlog.events import ChainCursorCheckpointed, ChainPoint, RolledBack

    with EventLog(SQLiteConfig(Path(str(tmp_path)) / "events.db")) as log:
        log.append(
            [
                ReleaseSubmitted(tx_id=TX_A, allocation_refs=REFS_A, validity_upper_slot=500),
                ReleaseSubmitted(tx_id=TX_B, allocation_refs=REFS_B, validity_upper_slot=500),
                SubmissionExpired(tx_id=TX_B),
                ChainCursorCheckpointed(ChainPoint(120, "cd" * 32)),
            ]
        )
        forget_previous_devnet_chain(log)
        after = [logged.event for logged in log.iter_events(after=4)]
        assert after == [
            RolledBack(ChainPoint.origin()),
            SubmissionFailed(tx_id=TX_A, reason="made on a previous run's devnet chain, which is gone"),
        ]
        index = fold(*(logged.event for logged in log.iter_events()))
        assert index.in_flight == {} and index.submitted == {}
        forget_previous_devnet_chain(log)  # at the origin already: nothing more to record
        assert len(list(log.iter_events())) == 6


def test_rollbacks_are_counted_so_confirmations_are_checked_again_only_after_one() -> None:
    from milestoned.eventlog.events import ChainPoint, RolledBack

    submitted = ReleaseSubmitted(tx_id=TX_A, allocation_refs=REFS_A, validity_upper_slot=500)
    assert fold(submitted, SubmissionConfirmed(tx_id=TX_A)).rollbacks == 0
    rolled = fold(submitted, SubmissionConfirmed(tx_id=TX_A), RolledBack(ChainPoint(10, "ab" * 32)))
    assert rolled.rollbacks == 1 and rolled.submitted == {TX_A: REFS_A}


def test_each_open_intent_keeps_the_term_it_was_recorded_under() -> None:
    from milestoned.eventlog.events import LeaderElected, ReleaseSubmitted, SubmissionIntended

    index = LocalIndex()
    first, second = "aa" * 32, "bb" * 32
    ref = "cc" * 32 + "#0"
    index.apply(SubmissionIntended(first, (ref,), 9, (ref,)))
    index.apply(LeaderElected(term=4, leader="d1"))
    index.apply(SubmissionIntended(second, ("dd" * 32 + "#0",), 9, ("dd" * 32 + "#0",)))
    assert index.intent_terms == {first: 0, second: 4}
    assert (index.term, index.leader) == (4, "d1")
    index.apply(ReleaseSubmitted(first, (ref,), 9))
    assert index.intent_terms == {second: 4}


def test_a_cancelled_milestone_is_known_until_a_rollback_below_its_first_cancellation() -> None:
    from milestoned.eventlog.events import ChainPoint, MilestoneCancelled, RolledBack

    sid = "ab" * 28

    def cancelled(slot: int, tx: str) -> MilestoneCancelled:
        return MilestoneCancelled(ChainPoint(slot, f"{slot:064x}"), tx, sid, b"M2".hex(), (0, 1))

    index = fold(cancelled(30, TX_A), cancelled(40, TX_B))  # one cancellation in two transactions
    assert index.cancelled_milestones(sid) == {b"M2"} and index.cancelled_milestones("cd" * 28) == set()
    index.apply(RolledBack(ChainPoint(35, f"{35:064x}")))
    assert index.cancelled_milestones(sid) == {b"M2"}  # the first one still stands
    index.apply(RolledBack(ChainPoint(20, f"{20:064x}")))
    assert index.cancelled_milestones(sid) == set()


def test_the_state_seeds_of_known_guarded_schedules_are_never_spent_by_other_transactions() -> None:
    """Issue 15: a guarded schedule's state creation must spend its seed, so releases and the registrations
    of other schedules leave it alone (`wallet_exclusions` and `registration_transactions` use this)."""
    import dataclasses

    from milestoned.daemon.submissions import state_seeds
    from milestoned.eventlog.testing import make_schedule

    plain = make_schedule(0)
    seed = "5e" * 32 + "#1"
    guarded = dataclasses.replace(
        make_schedule(1),
        policy=dataclasses.replace(
            make_schedule(1).policy, guardian_keys=("ab" * 28,), guardian_threshold=1, state_seed=seed
        ),
    )
    assert state_seeds(fold(plain)) == set()
    assert state_seeds(fold(plain, guarded)) == {seed}
