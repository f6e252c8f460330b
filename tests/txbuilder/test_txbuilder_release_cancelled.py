"""A release never takes an allocation of a milestone cancelled on chain (issue 15, point 1): the policy
would release one of an attested milestone that a cancellation left behind, so the daemon's checks refuse
it, before the quorum and vesting rules, with what happens to it instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from milestoned.contracts import scenarios as sc
from milestoned.domain.attestation import sign_attestation
from milestoned.txbuilder.allocations import AllocationUtxo
from milestoned.txbuilder.release_checks import check_release

BENEFICIARY = sc.beneficiary("cancelled/b1")


@dataclass(frozen=True)
class Rules:
    """What the checks read of a schedule definition: its oracles and quorum."""

    oracle_keys: tuple[bytes, ...]
    quorum: int


def test_an_allocation_of_a_cancelled_milestone_is_refused_whatever_its_quorum_and_vesting() -> None:
    schedule = sc.Schedule(label="release-cancelled")
    allocations = [sc.Allocation(BENEFICIARY, 500, b"m1", 0), sc.Allocation(BENEFICIARY, 700, b"m2", 0)]
    spent = sc.allocation_utxos(schedule, allocations)
    locked = [
        AllocationUtxo(tx_in, out, schedule.datum(a), str(BENEFICIARY))
        for (tx_in, out), a in zip(spent.items(), allocations, strict=True)
    ]
    sid = schedule.schedule_id
    seeds = [schedule.oracle_seed(i) for i in range(schedule.oracle_count)]
    rules: Any = Rules(tuple(bytes(SigningKey(s).verify_key) for s in seeds), schedule.quorum)
    signatures = {m: [sign_attestation(s, sid, m) for s in seeds[:2]] for m in (b"m1", b"m2")}
    refs = sorted(a.reference for a in locked)
    both = check_release(rules, sid, refs, locked, signatures, 10_000, {})
    assert sorted(a.reference for a in both.releasable) == refs  # attested and vested: both releasable
    m2 = next(a.reference for a in locked if a.datum.milestone_id == b"m2")
    check = check_release(rules, sid, refs, locked, signatures, 10_000, {}, cancelled={b"m2"})
    assert m2 not in [a.reference for a in check.releasable] and len(check.releasable) == 1
    [(ref, refusal)] = check.refusals
    assert ref == m2 and refusal.rule == "milestone_cancelled"
    assert "milestone 'm2'" in str(refusal) and "milestone cancel" in str(refusal)
    unsigned = check_release(rules, sid, [m2], locked, {}, 0, {}, cancelled={b"m2"})
    assert [r.rule for _, r in unsigned.refusals] == ["milestone_cancelled"]  # before quorum and vesting
