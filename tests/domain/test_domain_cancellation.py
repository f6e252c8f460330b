"""A milestone's cancellation (issue 15, point 1): the files checked as the policy's Cancel redeemer will
check them, and the `milestone_cancelled` reason's place in the precedence. The signed bytes are made
here with PyNaCl from the specification (`milestoned/cancel/v1 || schedule id || milestone id`)."""

from __future__ import annotations

import itertools

import pytest
from nacl.signing import SigningKey

from milestoned.domain import onchain_types as ot
from milestoned.domain.allocation import Allocation
from milestoned.domain.attestation import OracleSignature, Statement
from milestoned.domain.attestation_file import Attestation
from milestoned.domain.cancellation import CancellationRefused, VerifiedCancellation, verify_cancellation
from milestoned.domain.eligibility import (
    AllocationStatus,
    LockedAllocation,
    allocation_status,
    evaluate_eligibility,
)
from milestoned.txbuilder.cancel import cancel_redeemer

SCHEDULE, OTHER = bytes(range(28)), bytes(range(1, 29))
SEEDS = [bytes([n]) * 32 for n in range(1, 5)]
KEYS = [bytes(SigningKey(seed).verify_key) for seed in SEEDS]
ORACLES = KEYS[:3]  # the fourth key is a stranger
MILESTONES = (b"M1", b"M2", b"M3")


def signed(
    oracle: int,
    milestone: bytes,
    *,
    prefix: bytes = b"milestoned/cancel/v1",
    schedule: bytes = SCHEDULE,
    statement: Statement = Statement.CANCEL,
) -> Attestation:
    signature = SigningKey(SEEDS[oracle]).sign(prefix + schedule + milestone).signature
    return Attestation(schedule, milestone, OracleSignature(KEYS[oracle], signature), statement)


def verify(files: list[Attestation], milestone: bytes = b"M2", quorum: int = 2) -> VerifiedCancellation:
    return verify_cancellation(
        files, schedule_id=SCHEDULE, milestone_id=milestone, milestones=MILESTONES, oracle_keys=ORACLES,
        quorum=quorum,
    )  # fmt: skip


def test_a_quorum_of_cancellations_gives_exactly_quorum_signatures_in_ascending_oracle_index() -> None:
    files = [signed(2, b"M2"), signed(0, b"M2"), signed(1, b"M2"), signed(2, b"M2")]  # oracle 2 twice
    verified = verify(files)
    assert verified.valid_signers == 3
    assert verified.oracle_indices == (0, 1)
    assert verified.signatures == ((0, files[1].signature.signature), (1, files[2].signature.signature))


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (signed(1, b"M2", prefix=b"milestoned/attest/v1", statement=Statement.ATTEST), "is an attestation"),
        (signed(1, b"M2", schedule=OTHER), f"is for schedule {OTHER.hex()}"),
        (
            signed(1, b"M9"),
            "cancels milestone 'M9', which this schedule does not have (its milestones: 'M1', ",
        ),
        (signed(1, b"M3"), "cancels milestone 'M3', not 'M2'"),
        (signed(3, b"M2"), "which is not one of the schedule's 3 oracles"),
        (signed(1, b"M2", prefix=b"milestoned/attest/v1"), "has a signature that does not verify"),
    ],
)
def test_each_wrong_file_is_named_and_nothing_is_verified(bad: Attestation, said: str) -> None:
    with pytest.raises(CancellationRefused) as refused:
        verify([signed(0, b"M2"), bad, signed(2, b"M2")])
    assert refused.value.problems == (refused.value.problems[0],)
    assert refused.value.problems[0].startswith("cancellation file 2 ")
    assert said in refused.value.problems[0] and said in str(refused.value)
    assert "attest verify --cancel" in refused.value.hint


def test_an_unknown_milestone_is_refused_with_the_schedule_milestones() -> None:
    with pytest.raises(CancellationRefused) as refused:
        verify([signed(0, b"M2"), signed(1, b"M2")], milestone=b"M4")
    assert "has no milestone 'M4' (its milestones: 'M1', 'M2', 'M3')" in str(refused.value)
    assert "milestonectl milestones" in refused.value.hint


@pytest.mark.parametrize("files", [[], [signed(0, b"M2")], [signed(0, b"M2"), signed(0, b"M2")]])
def test_short_of_quorum_says_how_many_more_oracles_must_sign(files: list[Attestation]) -> None:
    with pytest.raises(CancellationRefused) as refused:
        verify(files)
    if files:
        assert "1 valid cancellation signature(s) of distinct oracles, of the 2 required" in str(
            refused.value
        )
        assert refused.value.hint.startswith("1 more of the schedule's oracles")
    assert "attest sign --cancel" in refused.value.hint


def test_the_redeemer_lists_milestones_in_order_and_reads_back_as_a_cancel() -> None:
    m2, m1 = verify([signed(1, b"M2"), signed(0, b"M2")]), verify([signed(2, b"M1"), signed(1, b"M1")], b"M1")
    redeemer = cancel_redeemer([m2, m1])
    read = ot.cancellations_from_cbor(redeemer.to_cbor())
    assert [(c.milestone_id, [s.oracle_index for s in c.signatures]) for c in read] == [
        (b"M1", [1, 2]),
        (b"M2", [0, 1]),
    ]
    with pytest.raises(ot.OnchainDecodeError, match="not a Release redeemer"):
        ot.release_attestations_from_cbor(redeemer.to_cbor())


def _expected(released: bool, cancelled: bool, verified: bool, passed: bool) -> str:
    """already_claimed > milestone_cancelled > milestone_not_verified > vesting_not_passed > claimable."""
    for applies, reason in (
        (released, "already_claimed"),
        (cancelled, "milestone_cancelled"),
        (not verified, "milestone_not_verified"),
        (not passed, "vesting_not_passed"),
    ):
        if applies:
            return reason
    return "claimable"


@pytest.mark.parametrize(
    ("released", "cancelled", "verified", "passed"), list(itertools.product((False, True), repeat=4))
)
def test_the_cancelled_reason_comes_after_already_claimed_and_before_every_other(
    released: bool, cancelled: bool, verified: bool, passed: bool
) -> None:
    status = allocation_status(
        released=released, milestone_verified=verified, vesting_passed=passed, milestone_cancelled=cancelled
    )
    assert status.value == _expected(released, cancelled, verified, passed)


def test_a_cancelled_milestone_is_never_claimable_nor_an_unlock_to_come() -> None:
    attested = {b"M2": [signed(0, b"M2", prefix=b"milestoned/attest/v1").signature,
                        signed(1, b"M2", prefix=b"milestoned/attest/v1").signature]}  # fmt: skip
    allocations = [
        LockedAllocation("a#0", Allocation("alice", 10, b"M2", 1_000)),  # vested, attested, then cancelled
        LockedAllocation("a#1", Allocation("alice", 20, b"M2", 9_000)),
        LockedAllocation("a#2", Allocation("alice", 40, b"M2", 1_000)),  # released before the cancellation
    ]
    report = evaluate_eligibility(
        allocations, schedule_id=SCHEDULE, oracle_keys=ORACLES, quorum=2, signatures=attested,
        chain_time_ms=5_000, released={"a#2"}, cancelled={b"M2"},
    )  # fmt: skip
    assert [e.status for e in report.allocations] == [
        AllocationStatus.MILESTONE_CANCELLED,
        AllocationStatus.MILESTONE_CANCELLED,
        AllocationStatus.ALREADY_CLAIMED,
    ]
    assert report.total_claimable == 0 and report.next_unlock_ms is None and report.next_vesting_ms is None
    assert [e.milestone_cancelled for e in report.allocations] == [True, True, True]
