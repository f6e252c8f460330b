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
