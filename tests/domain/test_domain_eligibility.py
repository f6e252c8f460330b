"""Eligibility: what can be claimed now, why not otherwise, and when the next unlock comes.

The property test compares the rules with a brute-force reading written here from the specification
alone (own message bytes, own signature check with nacl, own sums), not with the module's helpers.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from milestoned.domain.allocation import Allocation
from milestoned.domain.attestation import OracleSignature, sign_attestation
from milestoned.domain.eligibility import (
    AllocationStatus,
    EligibilityReport,
    IgnoredSignatureReason,
    LockedAllocation,
    QuorumStatus,
    allocation_status,
    evaluate_eligibility,
    milestone_quorum,
    quorum_status,
)

SCHEDULE = bytes(range(28))
OTHER_SCHEDULE = bytes(range(1, 29))
SEEDS = [bytes([n]) * 32 for n in range(1, 6)]
KEYS = [bytes(SigningKey(seed).verify_key) for seed in SEEDS]
ORACLE_SEEDS, STRANGER_SEED = SEEDS[:3], SEEDS[4]
ORACLE_KEYS = KEYS[:3]
ALICE, BOB = "addr_test1alice", "addr_test1bob"  # eligibility compares addresses, it does not decode them


def sig(seed: bytes, milestone: bytes, schedule: bytes = SCHEDULE) -> OracleSignature:
    return sign_attestation(seed, schedule, milestone)


def locked(reference: str, beneficiary: str, amount: int, milestone: bytes, vesting: int) -> LockedAllocation:
    return LockedAllocation(reference, Allocation(beneficiary, amount, milestone, vesting))


def evaluate(
    allocations: list[LockedAllocation],
    signatures: dict[bytes, list[OracleSignature]],
    now: int,
    released: frozenset[str] = frozenset(),
    quorum: int = 2,
) -> EligibilityReport:
    return evaluate_eligibility(
        allocations,
        schedule_id=SCHEDULE,
        oracle_keys=ORACLE_KEYS,
        quorum=quorum,
        signatures=signatures,
        chain_time_ms=now,
        released=released,
    )


def test_quorum_status_vocabulary() -> None:
    assert quorum_status(1, 2) is QuorumStatus.PENDING
    assert quorum_status(2, 2) is QuorumStatus.MET
    assert quorum_status(3, 2) is QuorumStatus.EXCEEDED
    assert [s.value for s in QuorumStatus] == ["pending", "met", "exceeded"]


def test_only_valid_distinct_known_oracles_count() -> None:
    signatures = [
        sig(ORACLE_SEEDS[0], b"M1"),
        sig(ORACLE_SEEDS[0], b"M1"),  # the same oracle again
        sig(STRANGER_SEED, b"M1"),  # not an oracle of this schedule
        sig(ORACLE_SEEDS[1], b"M2"),  # another milestone
        sig(ORACLE_SEEDS[2], b"M1", OTHER_SCHEDULE),  # another schedule
        OracleSignature(KEYS[1], b"\x00" * 64),  # garbage
        OracleSignature(KEYS[1], b"\x00" * 3),  # wrong length
    ]
    quorum = milestone_quorum(SCHEDULE, b"M1", signatures, oracle_keys=ORACLE_KEYS, quorum=2)
    assert quorum.signers == (KEYS[0],)
    assert (quorum.valid_signatures, quorum.status, quorum.verified, quorum.missing_signatures) == (
        1,
        QuorumStatus.PENDING,
        False,
        1,
    )
    assert [ignored.reason for ignored in quorum.ignored] == [
        IgnoredSignatureReason.DUPLICATE,
        IgnoredSignatureReason.UNKNOWN_ORACLE,
        IgnoredSignatureReason.INVALID_SIGNATURE,
        IgnoredSignatureReason.INVALID_SIGNATURE,
        IgnoredSignatureReason.INVALID_SIGNATURE,
        IgnoredSignatureReason.INVALID_SIGNATURE,
    ]


def test_met_and_exceeded() -> None:
    two = [sig(seed, b"M1") for seed in ORACLE_SEEDS[:2]]
    three = [sig(seed, b"M1") for seed in ORACLE_SEEDS]
    assert (
        milestone_quorum(SCHEDULE, b"M1", two, oracle_keys=ORACLE_KEYS, quorum=2).status is QuorumStatus.MET
    )
    exceeded = milestone_quorum(SCHEDULE, b"M1", three, oracle_keys=ORACLE_KEYS, quorum=2)
    assert (exceeded.status, exceeded.verified) == (QuorumStatus.EXCEEDED, True)


@pytest.mark.parametrize(
    ("released", "verified", "passed", "expected"),
    [
        (True, True, True, "already_claimed"),
        (True, False, False, "already_claimed"),
        (False, False, False, "milestone_not_verified"),
        (False, False, True, "milestone_not_verified"),
        (False, True, False, "vesting_not_passed"),
        (False, True, True, "claimable"),
    ],
)
def test_reason_precedence(released: bool, verified: bool, passed: bool, expected: str) -> None:
    status = allocation_status(released=released, milestone_verified=verified, vesting_passed=passed)
    assert status.value == expected


def test_a_report_over_several_milestones() -> None:
    allocations = [
        locked("a#0", ALICE, 100, b"M1", 1_000),
        locked("a#1", ALICE, 200, b"M2", 1_000),
        locked("a#2", ALICE, 400, b"M1", 5_000),
        locked("b#0", BOB, 50, b"M1", 1_000),
        locked("b#1", BOB, 70, b"M1", 900),
        locked("b#2", BOB, 30, b"M3", 3_000),
    ]
    signatures = {b"M1": [sig(s, b"M1") for s in ORACLE_SEEDS[:2]], b"M2": [sig(ORACLE_SEEDS[0], b"M2")]}
    report = evaluate(allocations, signatures, now=1_000, released=frozenset({"b#1"}))
    assert [(e.reference, e.status.value) for e in report.allocations] == [
        ("a#0", "claimable"),
        ("a#1", "milestone_not_verified"),
        ("a#2", "vesting_not_passed"),
        ("b#0", "claimable"),
        ("b#1", "already_claimed"),
        ("b#2", "milestone_not_verified"),
    ]
    assert report.claimable_by_beneficiary == ((ALICE, 100), (BOB, 50))
    assert (report.claimable_amount(ALICE), report.claimable_amount("nobody"), report.total_claimable) == (
        100,
        0,
        150,
    )
    assert report.next_unlock_ms == 5_000  # a#2: verified milestone, vesting ahead
    assert report.next_vesting_ms == 3_000  # b#2: ahead, but its milestone is not verified
    assert report.next_unlock_for(BOB) is None
    assert [(m.milestone_id, m.status.value) for m in report.milestones] == [
        (b"M1", "met"),
        (b"M2", "pending"),
        (b"M3", "pending"),
    ]
    milestone = report.milestone(b"M2")
    assert milestone is not None and milestone.valid_signatures == 1
    assert [e.reference for e in report.for_beneficiary(BOB)] == ["b#0", "b#1", "b#2"]


def test_vesting_passes_at_the_vesting_instant_itself() -> None:
    allocations = [locked("a#0", ALICE, 10, b"M1", 1_000)]
    signatures = {b"M1": [sig(s, b"M1") for s in ORACLE_SEEDS]}
    assert (
        evaluate(allocations, signatures, now=999).allocations[0].status
        is AllocationStatus.VESTING_NOT_PASSED
    )
    assert evaluate(allocations, signatures, now=999).next_unlock_ms == 1_000
    assert evaluate(allocations, signatures, now=1_000).allocations[0].status is AllocationStatus.CLAIMABLE
    assert evaluate(allocations, signatures, now=1_000).next_unlock_ms is None


def test_both_facts_are_kept_beside_the_reason() -> None:
    report = evaluate([locked("a#0", ALICE, 10, b"M1", 1_000)], {}, now=2_000)
    result = report.allocations[0]
    assert (result.status, result.milestone_verified, result.vesting_passed) == (
        AllocationStatus.MILESTONE_NOT_VERIFIED,
        False,
        True,
    )
    assert result.claimable_amount == 0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError) as twice:
        evaluate([locked("x", ALICE, 1, b"M", 0), locked("x", BOB, 1, b"M", 0)], {}, now=0)
    assert str(twice.value) == "allocation references must be unique within one evaluation"
    with pytest.raises(ValueError, match=r"^a quorum is at least 1, got 0$"):
        evaluate([], {}, now=0, quorum=0)


Row = tuple[str, str, int, bytes, int]  # reference, beneficiary, amount, milestone id, vesting ms
Scenario = tuple[list[Row], dict[bytes, list[OracleSignature]], list[bytes], int, int, set[str]]


# --- the brute force -------------------------------------------------------------------------------------


def brute_force_claimable(
    allocations: list[Row],
    signatures: dict[bytes, list[OracleSignature]],
    oracle_keys: list[bytes],
    quorum: int,
    now: int,
    released: set[str],
) -> dict[str, int]:
    """Read the rules literally: distinct known oracles with a valid signature of the exact message."""
    totals: dict[str, int] = {}
    for reference, beneficiary, amount, milestone, vesting in allocations:
        if reference in released:
            continue
        message = b"milestoned/attest/v1" + SCHEDULE + milestone
        good_oracles = set()
        for signature in signatures.get(milestone, []):
            if signature.oracle_key not in oracle_keys:
                continue
            try:
                VerifyKey(signature.oracle_key).verify(message, signature.signature)
            except (BadSignatureError, ValueError):
                continue
            good_oracles.add(signature.oracle_key)
        if len(good_oracles) >= quorum and now >= vesting:
            totals[beneficiary] = totals.get(beneficiary, 0) + amount
    return totals


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    oracle_count = draw(st.integers(1, 4))
    oracle_seeds = SEEDS[:oracle_count]
    quorum = draw(st.integers(1, oracle_count))
    milestones = [b"M1", b"M2", b"M3"]
    allocations = draw(
        st.lists(
            st.tuples(
                st.sampled_from([ALICE, BOB, "addr_test1carol"]),
                st.integers(1, 10**12),
                st.sampled_from(milestones),
                st.integers(0, 20),
            ),
            max_size=12,
        )
    )
    referenced = [(f"tx#{i}", *allocation) for i, allocation in enumerate(allocations)]
    signer_choices = st.sampled_from(
        [("good", seed) for seed in oracle_seeds]
        + [
            ("stranger", STRANGER_SEED),
            ("wrong_schedule", oracle_seeds[0]),
            ("wrong_milestone", oracle_seeds[0]),
        ]
        + [("garbage", oracle_seeds[-1])]
    )
    signatures: dict[bytes, list[OracleSignature]] = {}
    for milestone in milestones:
        chosen = draw(st.lists(signer_choices, max_size=6))
        made = []
        for kind, seed in chosen:
            if kind in ("good", "stranger"):
                made.append(sig(seed, milestone))
            elif kind == "wrong_schedule":
                made.append(sig(seed, milestone, OTHER_SCHEDULE))
            elif kind == "wrong_milestone":
                made.append(sig(seed, milestone + b"x"))
            else:
                made.append(OracleSignature(bytes(SigningKey(seed).verify_key), bytes(64)))
        signatures[milestone] = made
    released: set[str] = draw(st.sets(st.sampled_from([r[0] for r in referenced]))) if referenced else set()
    # often exactly a vesting time: the boundary where an allocation becomes claimable
    vestings = [row[4] for row in referenced]
    now = draw(st.sampled_from(vestings) | st.integers(0, 21)) if vestings else draw(st.integers(0, 21))
    return (
        referenced,
        signatures,
        [bytes(SigningKey(s).verify_key) for s in oracle_seeds],
        quorum,
        now,
        released,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_claimable_amount_equals_a_brute_force_reading_of_the_rules(scenario: Scenario) -> None:
    allocations, signatures, oracle_keys, quorum, now, released = scenario
    report = evaluate_eligibility(
        [locked(*allocation) for allocation in allocations],
        schedule_id=SCHEDULE,
        oracle_keys=oracle_keys,
        quorum=quorum,
        signatures=signatures,
        chain_time_ms=now,
        released=released,
    )
    expected = brute_force_claimable(allocations, signatures, oracle_keys, quorum, now, released)
    assert dict(report.claimable_by_beneficiary) == expected
    for beneficiary in (ALICE, BOB, "addr_test1carol"):
        assert report.claimable_amount(beneficiary) == expected.get(beneficiary, 0)
    assert sum(e.claimable_amount for e in report.allocations) == sum(expected.values())
    # next unlock: earliest future vesting of an unreleased allocation of a (brute-force) verified milestone
    verified = {
        milestone
        for milestone in (b"M1", b"M2", b"M3")
        if brute_force_claimable([("r", "b", 1, milestone, 0)], signatures, oracle_keys, quorum, 0, set())
    }
    future = [a[4] for a in allocations if a[0] not in released and a[3] in verified and a[4] > now]
    assert report.next_unlock_ms == (min(future) if future else None)
    for result in report.allocations:
        reference = result.reference
        if reference in released:
            assert result.status is AllocationStatus.ALREADY_CLAIMED
        elif result.allocation.milestone_id not in verified:
            assert result.status is AllocationStatus.MILESTONE_NOT_VERIFIED
        elif now < result.allocation.vesting_time_ms:
            assert result.status is AllocationStatus.VESTING_NOT_PASSED
        else:
            assert result.status is AllocationStatus.CLAIMABLE
