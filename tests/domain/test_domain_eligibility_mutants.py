"""Eligibility edges: tests for mutants of `domain/eligibility.py` that survived (issue 19)."""

from __future__ import annotations

import pytest

from milestoned.domain.allocation import Allocation
from milestoned.domain.eligibility import (
    LockedAllocation,
    MilestoneQuorum,
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
