"""Release and reclaim checks, pinned exactly: tests written for mutants that survived (issue 19).

The two time rules shared with the scripts are tested at the exact millisecond against the compiled
scripts: an allocation vesting at the validity start is released by both sides, one vesting a
millisecond later by neither; the same for the reclaim deadline. A shift of one millisecond on either
side (the off-chain check and the on-chain rule disagreeing at the boundary) fails here.
"""

from __future__ import annotations

import pytest
from pycardano import TransactionInput, TransactionOutput
from txbuilder_support import example_document

from milestoned.contracts import scenarios as sc
from milestoned.domain import onchain_types as ot
from milestoned.domain.allocation import Allocation
from milestoned.domain.eligibility import IgnoredSignature, MilestoneQuorum, vesting_passed
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.txbuilder.allocations import AllocationUtxo
from milestoned.txbuilder.errors import Refusal
from milestoned.txbuilder.release_checks import (
    ReleaseCheck,
    check_allocation,
    check_release,
    in_flight_refs,
    nothing_to_release,
    refuse_unless_deadline,
)

# A slot start: a validity interval starting at this slot starts at exactly this millisecond.
BOUNDARY_MS = sc.SLOT_CONFIG.zero_time_ms + 5_000_000 * sc.SLOT_CONFIG.slot_length_ms
BENEFICIARY = sc.beneficiary("mutants/b1")


def script_failures(built: sc.Built) -> list[str]:
    return [" ".join(e.logs) for e in built.evaluate() if not e.ok]


def locked(
    schedule: sc.Schedule, vesting_ms: int
) -> tuple[dict[TransactionInput, TransactionOutput], AllocationUtxo]:
    allocation = sc.Allocation(BENEFICIARY, 500, b"m1", vesting_ms)
    spent = sc.allocation_utxos(schedule, [allocation])
    ((tx_in, out),) = spent.items()
    utxo = AllocationUtxo(tx_in, out, schedule.datum(allocation), str(BENEFICIARY))
    return spent, utxo


def verified_quorum(milestone: bytes = b"m1") -> MilestoneQuorum:
    return MilestoneQuorum(milestone, 2, (b"k1", b"k2"))


@pytest.mark.parametrize(("vesting_ms", "releasable"), [(BOUNDARY_MS, True), (BOUNDARY_MS + 1, False)])
def test_vesting_time_is_the_same_millisecond_off_chain_and_on_chain(
    vesting_ms: int, releasable: bool
) -> None:
    schedule = sc.Schedule(label="mutants-vesting")
    spent, utxo = locked(schedule, vesting_ms)
    verdict = check_allocation(
        utxo.reference, {utxo.reference: utxo}, {}, {b"m1": verified_quorum()}, BOUNDARY_MS
    )
    built = sc.release_tx(
        schedule,
        spent,
        [schedule.attestation(b"m1", [0, 1])],
        payouts=sc.correct_payouts(schedule, spent),
        validity_start_ms=BOUNDARY_MS,
    )
    domain = Allocation(str(BENEFICIARY), 500, b"m1", vesting_ms)
    assert vesting_passed(domain, BOUNDARY_MS) is releasable  # what `status` reports agrees too
    if releasable:
        assert verdict is utxo
        assert script_failures(built) == []
    else:
        assert isinstance(verdict, Refusal)
        assert (verdict.rule, verdict.passes_at_ms) == ("vesting", vesting_ms)
        assert script_failures(built) == ["not vested"]


@pytest.mark.parametrize(("deadline_ms", "allowed"), [(BOUNDARY_MS, True), (BOUNDARY_MS + 1, False)])
def test_reclaim_deadline_is_the_same_millisecond_off_chain_and_on_chain(
    deadline_ms: int, allowed: bool
) -> None:
    schedule = sc.Schedule(label="mutants-deadline", reclaim_deadline_ms=deadline_ms)
    spent, _ = locked(schedule, BOUNDARY_MS)
    built = sc.reclaim_tx(schedule, spent, validity_start_ms=BOUNDARY_MS)
    if allowed:
        refuse_unless_deadline(deadline_ms, BOUNDARY_MS)
        assert script_failures(built) == []
    else:
        with pytest.raises(Refusal) as refused:
            refuse_unless_deadline(deadline_ms, BOUNDARY_MS)
        assert (refused.value.rule, refused.value.passes_at_ms) == ("reclaim_deadline", deadline_ms)
        assert script_failures(built) == ["before reclaim deadline"]


def test_each_rule_refuses_with_its_own_name_and_message() -> None:
    schedule = sc.Schedule(label="mutants-rules")
    _, utxo = locked(schedule, BOUNDARY_MS)
    ref = utxo.reference
    table = {ref: utxo}
    unknown = check_allocation("ab" * 32 + "#7", table, {}, {b"m1": verified_quorum()}, BOUNDARY_MS)
    assert isinstance(unknown, Refusal) and unknown.rule == "allocation_locked"
    assert str(unknown).startswith(f"refused (allocation_locked): allocation {'ab' * 32}#7 is not locked")
    pending = check_allocation(ref, table, {ref: "cd" * 32}, {b"m1": verified_quorum()}, BOUNDARY_MS)
    assert isinstance(pending, Refusal) and pending.rule == "not_in_flight"
    assert f"already being released by transaction {'cd' * 32}," in str(pending)


@pytest.mark.parametrize(
    ("ignored", "suffix"),
    [((), ""), ((IgnoredSignature(b"k9", "unknown oracle"),), "; 1 signature(s) did not count")],
)
def test_a_missing_quorum_names_the_milestone_and_the_count(
    ignored: tuple[IgnoredSignature, ...], suffix: str
) -> None:
    schedule = sc.Schedule(label="mutants-rules")
    _, utxo = locked(schedule, BOUNDARY_MS)
    quorum = MilestoneQuorum(b"m1", 2, (b"k1",), ignored)
    verdict = check_allocation(utxo.reference, {utxo.reference: utxo}, {}, {b"m1": quorum}, BOUNDARY_MS)
    assert (
        isinstance(verdict, Refusal) and verdict.rule == "milestone_quorum" and verdict.passes_at_ms is None
    )
    assert str(verdict) == (
        f"refused (milestone_quorum): milestone 'm1' of allocation {utxo.reference} has 1 valid oracle "
        f"signature(s) of the 2 required{suffix}; 1 more oracle(s) must sign it (`milestonectl attest`)"
    )


def test_check_release_keeps_each_refusal_with_its_reference() -> None:
    """Requested twice, counted once; the refusal stays attached to the reference it is about."""
    missing = "ab" * 32 + "#7"
    definition = parse_schedule_document(example_document())
    check = check_release(definition, bytes(28), [missing, missing], [], {}, BOUNDARY_MS, {})
    assert check.releasable == ()
    assert [(reference, r.rule) for reference, r in check.refusals] == [(missing, "allocation_locked")]


def refusal(rule: str, passes_at_ms: int | None = None) -> Refusal:
    return Refusal(rule, f"{rule} says no", passes_at_ms=passes_at_ms)


def test_nothing_to_release_with_no_refusal_says_none_is_left() -> None:
    summary = nothing_to_release(ReleaseCheck((), ()), "milestone m1")
    assert (summary.rule, summary.passes_at_ms) == ("allocation_locked", None)
    assert (
        str(summary) == "refused (allocation_locked): milestone m1 has no locked allocation left to release"
    )


def test_nothing_to_release_with_one_refusal_repeats_it() -> None:
    only = refusal("milestone_quorum")
    summary = nothing_to_release(ReleaseCheck((), (("a#0", only),)), "milestone m1")
    assert (summary.rule, summary.passes_at_ms) == ("milestone_quorum", None)
    assert str(summary) == f"refused (milestone_quorum): nothing of milestone m1 can be released now: {only}"


def test_nothing_to_release_with_several_refusals_counts_them_and_waits_for_the_earliest() -> None:
    refusals = (
        ("a#0", refusal("vesting", 9_000)),
        ("a#1", refusal("milestone_quorum")),
        ("a#2", refusal("vesting", 7_000)),
    )
    summary = nothing_to_release(ReleaseCheck((), refusals), "milestone m1")
    assert (summary.rule, summary.passes_at_ms) == ("vesting", 7_000)
    assert str(summary).startswith(
        f"refused (vesting): nothing of milestone m1 can be released now: {refusals[0][1]} "
        "(and 2 more allocation(s) refused)"
    )


def test_in_flight_references_keep_their_transaction() -> None:
    assert in_flight_refs({"a#0": "tx1"}) == {"a#0": "tx1"}
    assert in_flight_refs({"a#0"}) == {"a#0": "(a pending transaction)"}


def test_payout_of_the_boundary_release_is_one_run() -> None:
    """The boundary transactions above pay exactly one run (so only the vesting rule can fail them)."""
    schedule = sc.Schedule(label="mutants-vesting")
    spent, _ = locked(schedule, BOUNDARY_MS)
    (payout,) = sc.correct_payouts(schedule, spent)
    assert payout.datum == ot.payout_datum(schedule.schedule_id)


def test_nothing_to_release_with_two_refusals_counts_the_other() -> None:
    refusals = (("a#0", refusal("milestone_quorum")), ("a#1", refusal("vesting", 5_000)))
    summary = nothing_to_release(ReleaseCheck((), refusals), "milestone m1")
    assert (summary.rule, summary.passes_at_ms) == ("milestone_quorum", 5_000)
    assert str(summary).startswith(
        f"refused (milestone_quorum): nothing of milestone m1 can be released now: {refusals[0][1]} "
        "(and 1 more allocation(s) refused)"
    )
