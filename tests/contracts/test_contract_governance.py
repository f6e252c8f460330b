"""Issue 15's rules accept what they must: the acceptances and limits beside the attack catalogue.

The refusals (cancellations of the wrong kind, pauses without the guardians, moves that change more than
the beneficiary...) are in `milestoned.contracts.governance_attacks`, run with every other attack. Here:
what a schedule's admin, guardians and beneficiaries must still be able to do, and the issue's limit that
a release reading the schedule's state still fits at least 40 allocations in one transaction.
"""

from __future__ import annotations

from pycardano import RedeemerTag

from milestoned.contracts import scenarios as sc
from milestoned.contracts.attack_builders import B1, B2, Schedules, alloc
from milestoned.contracts.governance_builders import (
    cancel,
    cancellation,
    guarded_release,
    init_state,
    move,
    set_paused,
    state_utxo,
)

from .conftest import Evaluate, failures
from .test_contract_properties import accepted

S = Schedules()


def test_a_release_reading_the_state_still_fits_40_allocations(evaluate: Evaluate) -> None:
    schedule = S.guarded
    built = sc.batch_release(schedule, 40, reference_inputs=state_utxo(schedule))
    evaluations = evaluate("guarded batch release of 40", built)
    accepted(evaluations)
    assert len(evaluations) == 41
    assert built.size <= 16_384
    assert sum(e.mem for e in evaluations) <= 14_000_000
    assert sum(e.cpu for e in evaluations) <= 10_000_000_000


def test_a_schedule_without_guardians_needs_no_state(evaluate: Evaluate) -> None:
    """The unguarded schedule's release reads nothing: its batch has no reference input beyond the
    scripts, and is accepted (test_contract_properties); a state UTxO beside it changes nothing."""
    schedule = S.main
    built = sc.batch_release(schedule, 2, reference_inputs=state_utxo(S.guarded, paused=1))
    accepted(evaluate("unguarded release beside a paused state", built))


def test_resuming_a_paused_schedule_is_accepted_and_releases_again(evaluate: Evaluate) -> None:
    accepted(evaluate("resume", set_paused(S, paused=0)))
    accepted(evaluate("guarded release", guarded_release(S)))


def test_a_lone_guardian_pauses_and_resumes_alone(evaluate: Evaluate) -> None:
    """A threshold of 1 (one guardian of one, or one of three) is a threshold: the state is created with
    it, and that guardian's signature alone changes the state. One of one is also a threshold equal to
    the number of guardians, the largest there is."""
    for name, count in (("g-one", 1), ("g-one-of-three", 3)):
        schedule = S.variant(name, guardian_count=count, guardian_threshold=1)
        accepted(evaluate(f"{name}: state created", init_state(S, schedule=schedule)))
        for paused in (1, 0):
            built = set_paused(S, schedule=schedule, paused=paused, signers=[schedule.guardian(count - 1)])
            accepted(evaluate(f"{name}: paused {paused} by one guardian", built))


def test_cancel_and_reclaim_ignore_a_pause(evaluate: Evaluate) -> None:
    """Neither reads the state: a guarded schedule's cancel needs no reference input, paused or not."""
    accepted(evaluate("cancel under guardians", cancel(S, schedule=S.guarded)))


def test_one_cancel_takes_back_the_allocations_of_two_cancelled_milestones(evaluate: Evaluate) -> None:
    both = [cancellation(S.main, b"m1"), cancellation(S.main, b"m2", oracles=(1, 2))]
    allocations = (alloc(B1, 100, b"m1"), alloc(B2, 200, b"m2"), alloc(B1, 300, b"m2"))
    accepted(evaluate("cancel of two milestones", cancel(S, allocations=allocations, cancellations=both)))


def test_a_beneficiary_moves_several_allocations_in_one_transaction(evaluate: Evaluate) -> None:
    allocations = (alloc(B1, 500), alloc(B1, 300, b"m2"), alloc(B1, 200, b"m3"))
    evaluations = evaluate("move of three", move(S, allocations=allocations))
    accepted(evaluations)
    assert [e.tag for e in evaluations] == [RedeemerTag.SPEND] * 3, failures(evaluations)


def test_an_allocation_first_among_the_inputs_moves_with_index_0(evaluate: Evaluate) -> None:
    """Index 0 is an index: an allocation whose UTxO sorts before every other input (label "a" sorts
    before the fee input) is re-locked by output 0."""
    built = move(S, label="a")
    assert built.tx.transaction_body.inputs[0] in built.spec.spent
    accepted(evaluate("move of the first input", built))


def test_a_moved_allocation_is_released_to_its_new_beneficiary(evaluate: Evaluate) -> None:
    """After the move the datum names B2: a release pays B2, as it would any registered allocation."""
    moved = move(S)
    relocked = next(o for o in moved.tx.transaction_body.outputs if o.address == S.main.validator_address)
    spent = {sc.tx_input("moved/s1"): relocked}
    built = sc.release_tx(
        S.main,
        spent,
        [S.main.attestation(b"m1", [0, 1])],
        payouts=sc.correct_payouts(S.main, spent),
        validity_start_ms=sc.SLOT_CONFIG.zero_time_ms + 1_000_000,
    )
    accepted(evaluate("release of a moved allocation", built))
    assert [o.address for o in sc.correct_payouts(S.main, spent)] == [B2]
