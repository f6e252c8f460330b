"""Eligibility edges: tests for mutants of `domain/eligibility.py` that survived (issue 19)."""

from __future__ import annotations

import itertools

import pytest

from milestoned.domain.allocation import Allocation
from milestoned.domain.eligibility import (
    AllocationEligibility,
    AllocationStatus,
    LockedAllocation,
    MilestoneQuorum,
    allocation_status,
    evaluate_eligibility,
    milestone_quorum,
)

ADDRESS = "addr_test1vqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"


def test_a_quorum_met_with_signatures_to_spare_misses_none() -> None:
    assert MilestoneQuorum(b"m", 1, (b"a", b"b")).missing_signatures == 0
    assert MilestoneQuorum(b"m", 3, (b"a",)).missing_signatures == 2


def test_counting_signatures_refuses_a_quorum_of_zero() -> None:
    with pytest.raises(ValueError, match=r"^a quorum is at least 1, got 0$"):
        milestone_quorum(bytes(28), b"m", [], oracle_keys=[bytes(32)], quorum=0)


def test_released_allocations_have_no_next_unlock() -> None:
    future = LockedAllocation("r#0", Allocation(ADDRESS, 5, b"m", 10_000))
    report = evaluate_eligibility(
        [future],
        schedule_id=bytes(28),
        oracle_keys=[bytes(32)],
        quorum=1,
        signatures={},
        chain_time_ms=0,
        released={"r#0"},
    )
    assert (report.next_vesting_ms, report.next_unlock_ms) == (None, None)
    pending = evaluate_eligibility(
        [future],
        schedule_id=bytes(28),
        oracle_keys=[bytes(32)],
        quorum=1,
        signatures={},
        chain_time_ms=0,
        released=set(),
    )
    assert (pending.next_vesting_ms, pending.next_unlock_ms) == (10_000, None)


def test_the_next_unlock_of_one_beneficiary_is_its_earliest_future_vesting_of_a_verified_milestone() -> None:
    from nacl.signing import SigningKey

    from milestoned.domain.attestation import sign_attestation

    other = ADDRESS.replace("vqqqq", "vqqqp", 1)
    seed, schedule = bytes([5]) * 32, bytes(28)
    allocations = [
        LockedAllocation("a#0", Allocation(ADDRESS, 5, b"signed", 30_000)),
        LockedAllocation("a#1", Allocation(ADDRESS, 5, b"signed", 20_000)),
        LockedAllocation("a#2", Allocation(ADDRESS, 5, b"signed", 500)),  # vested already
        LockedAllocation("a#3", Allocation(ADDRESS, 5, b"unsigned", 10_000)),
        LockedAllocation("b#0", Allocation(other, 5, b"signed", 15_000)),
    ]
    report = evaluate_eligibility(
        allocations,
        schedule_id=schedule,
        oracle_keys=[bytes(SigningKey(seed).verify_key)],
        quorum=1,
        signatures={b"signed": [sign_attestation(seed, schedule, b"signed")]},
        chain_time_ms=1_000,
        released=set(),
    )
    assert (report.next_unlock_for(ADDRESS), report.next_unlock_for(other)) == (20_000, 15_000)
    assert report.next_unlock_for("addr_test1nobody") is None
    assert (report.next_unlock_ms, report.next_vesting_ms) == (15_000, 10_000)


def test_a_milestone_id_that_is_not_utf8_is_labelled_escaped() -> None:
    assert Allocation(ADDRESS, 1, b"M1-launch", 0).milestone_label == "M1-launch"
    assert Allocation(ADDRESS, 1, b"M\xff", 0).milestone_label == "M\\xff"


def _reason(released: bool, cancelled: bool, paused: bool, verified: bool, passed: bool) -> str:
    """The module docstring's order: already_claimed > milestone_cancelled > schedule_paused >
    milestone_not_verified > vesting_not_passed > claimable."""
    for applies, reason in (
        (released, "already_claimed"),
        (cancelled, "milestone_cancelled"),
        (paused, "schedule_paused"),
        (not verified, "milestone_not_verified"),
        (not passed, "vesting_not_passed"),
    ):
        if applies:
            return reason
    return "claimable"


@pytest.mark.parametrize("facts", list(itertools.product((False, True), repeat=5)))
def test_a_paused_schedule_comes_after_a_cancellation_and_before_the_oracles_and_vesting(
    facts: tuple[bool, bool, bool, bool, bool],
) -> None:
    released, cancelled, paused, verified, passed = facts
    status = allocation_status(
        released=released,
        milestone_verified=verified,
        vesting_passed=passed,
        milestone_cancelled=cancelled,
        paused=paused,
    )
    assert status is AllocationStatus(_reason(released, cancelled, paused, verified, passed))


def test_an_allocation_of_a_paused_schedule_is_not_claimable_but_still_unlocks_later() -> None:
    vested = LockedAllocation("p#0", Allocation(ADDRESS, 5, b"m", 0))
    future = LockedAllocation("p#1", Allocation(ADDRESS, 7, b"m", 10_000))
    report = evaluate_eligibility(
        [vested, future],
        schedule_id=bytes(28),
        oracle_keys=[bytes(32)],
        quorum=1,
        signatures={},
        chain_time_ms=1_000,
        released=set(),
        paused=True,
    )
    assert [e.status for e in report.allocations] == [AllocationStatus.SCHEDULE_PAUSED] * 2
    assert (report.total_claimable, report.next_vesting_ms) == (0, 10_000)


def test_an_eligibility_built_without_saying_so_is_not_of_a_cancelled_milestone() -> None:
    allocation = Allocation(ADDRESS, 5, b"m", 0)
    eligibility = AllocationEligibility("x#0", allocation, AllocationStatus.CLAIMABLE, True, True)
    assert eligibility.milestone_cancelled is False
    assert eligibility.claimable_amount == 5
