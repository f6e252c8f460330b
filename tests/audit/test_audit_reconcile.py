"""The audit's reconciliation and log comparison on hand-built chain items: every difference is flagged.

A valid chain cannot show most of these differences (the ledger and the policy refuse them), which is
why they are built by hand here: the audit must still say so if a chain (or a log) ever did. The items
start from the example schedule, locked as its definition says and released for M1 with oracles 1 and 2,
which reconciles; each test changes one thing and checks the flag that names it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from milestoned.commands.schedule_source import load_schedule
from milestoned.daemon.demo_wiring import demo_seed
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.schedule_canonical import schedule_document
from milestoned.eventlog.events import (
    AllocationCancelled,
    AllocationLocked,
    AllocationReclaimed,
    AllocationReleased,
    ChainPoint,
    RolledBack,
    ScheduleDiscovered,
    SchedulePolicy,
    ScheduleRegistered,
)
from milestoned.indexer.audit import reconcile
from milestoned.indexer.audit_diff import chain_facts, compare
from milestoned.indexer.audit_pass import Attested, AuditItem, Payout, SpendWitness
from milestoned.indexer.discovery import derive_schedule_id

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEFINITION = load_schedule(EXAMPLES / "schedule.json")
SID = derive_schedule_id(DEFINITION)
M1 = b"M1-testnet-launch".hex()
REGISTRATION_TX, RELEASE_TX, RECLAIM_TX = "a1" * 32, "b2" * 32, "c3" * 32


def point(slot: int) -> ChainPoint:
    return ChainPoint(slot, f"{slot:064x}")


def locks(at: int = 10) -> list[AllocationLocked]:
    return [
        AllocationLocked(
            point=point(at),
            tx_id=REGISTRATION_TX,
            schedule_id=SID,
            out_ref=f"{REGISTRATION_TX}#{index}",
            beneficiary=a.beneficiary_address,
            amount=a.token_amount,
            milestone_id=a.milestone_id.hex(),
            vesting_time_ms=a.vesting_time_ms,
        )
        for index, a in enumerate(DEFINITION.allocations)
    ]


def discovered(at: int = 10) -> ScheduleDiscovered:
    return ScheduleDiscovered(
        point=point(at),
        schedule_id=SID,
        definition=schedule_document(DEFINITION),
        policy=SchedulePolicy.from_parameters(DEFINITION.to_parameters()),
        registration={
            "transactions": [
                {
                    "tx_id": REGISTRATION_TX,
                    "slot": at,
                    "header_hash": point(at).header_hash,
                    "first": 0,
                    "end": 10,
                }
            ]
        },
    )


def signature(oracle: int) -> tuple[int, str]:
    signed = sign_attestation(demo_seed(f"oracle-{oracle}"), bytes.fromhex(SID), bytes.fromhex(M1))
    return oracle - 1, signed.signature.hex()


def release_items(at: int = 20, oracles: tuple[int, ...] = (1, 2)) -> list[AuditItem]:
    spent = [lock for lock in locks() if lock.milestone_id == M1]
    paid: dict[str, int] = {}
    for lock in spent:
        paid[lock.beneficiary] = paid.get(lock.beneficiary, 0) + lock.amount
    witness = SpendWitness(
        point=point(at),
        tx_id=RELEASE_TX,
        schedule_id=SID,
        redeemer=1,
        attestations=(Attested(M1, tuple(signature(o) for o in oracles)),),
        payouts=tuple(Payout(who, amount, 2_000_000) for who, amount in paid.items()),
        signers=(),
    )
    released: list[AuditItem] = [
        AllocationReleased(point=point(at), tx_id=RELEASE_TX, schedule_id=SID, out_ref=lock.out_ref)
        for lock in spent
    ]
    return [*released, witness]


def sound() -> list[AuditItem]:
    return [discovered(), *locks(), *release_items()]


def codes(items: list[AuditItem]) -> list[str]:
    [schedule] = reconcile(items, derive_schedule_id).schedules
    return sorted({flag.code for flag in schedule.flags})


def test_a_sound_chain_reconciles_per_beneficiary_and_in_total() -> None:
    report = reconcile(sound(), derive_schedule_id)
    [schedule] = report.schedules
    assert report.ok and schedule.derives and schedule.flags == ()
    m1 = [a for a in DEFINITION.allocations if a.milestone_id.hex() == M1]
    assert schedule.total.released == schedule.total.paid == sum(a.token_amount for a in m1)
    assert schedule.total.still_locked == DEFINITION.total_amount - schedule.total.released
    [attested] = schedule.attestations
    assert attested.reached and len(attested.oracle_keys) == 2


def test_a_payout_short_of_the_release_is_flagged() -> None:
    items = sound()
    witness = items[-1]
    assert isinstance(witness, SpendWitness)
    short = Payout(witness.payouts[0].address, witness.payouts[0].amount - 1, 2_000_000)
    items[-1] = dataclasses.replace(witness, payouts=(short, *witness.payouts[1:]))
    assert codes(items) == ["payout_mismatch", "unbalanced"]


def test_a_release_without_quorum_or_with_a_bad_signature_is_flagged() -> None:
    assert codes([discovered(), *locks(), *release_items(oracles=(1,))]) == ["quorum_not_shown"]
    items = sound()
    witness = items[-1]
    assert isinstance(witness, SpendWitness)
    index, _sig = witness.attestations[0].signatures[1]
    forged = Attested(M1, (witness.attestations[0].signatures[0], (index, "00" * 64)))
    items[-1] = dataclasses.replace(witness, attestations=(forged,))
    [schedule] = reconcile(items, derive_schedule_id).schedules
    assert [f.code for f in schedule.flags] == ["quorum_not_shown"]
    assert "1:bad signature" in schedule.flags[0].message


def test_a_lock_that_differs_from_the_definition_is_flagged() -> None:
    changed = locks()
    changed[0] = dataclasses.replace(changed[0], amount=changed[0].amount + 5)
    assert codes([discovered(), *changed]) == ["not_defined", "not_locked", "unbalanced"]


def test_a_reclaim_the_admin_did_not_sign_is_flagged() -> None:
    last = locks()[-1]
    reclaimed = AllocationReclaimed(point=point(30), tx_id=RECLAIM_TX, schedule_id=SID, out_ref=last.out_ref)
    witness = SpendWitness(point(30), RECLAIM_TX, SID, 2, (), (), signers=())
    assert codes([*sound(), reclaimed, witness]) == ["admin_signature"]
    signed = dataclasses.replace(witness, signers=(DEFINITION.admin_key_hash.hex(),))
    assert codes([*sound(), reclaimed, signed]) == []


def test_a_cancellation_is_a_reclaim_with_the_cancel_redeemer_and_the_admin() -> None:
    last = locks()[-1]
    cancelled = AllocationCancelled(point=point(30), tx_id=RECLAIM_TX, schedule_id=SID, out_ref=last.out_ref)
    admin = (DEFINITION.admin_key_hash.hex(),)
    witness = SpendWitness(point(30), RECLAIM_TX, SID, 3, (), (), signers=admin)
    [schedule] = reconcile([*sound(), cancelled, witness], derive_schedule_id).schedules
    assert schedule.flags == () and schedule.total.reclaimed == last.amount
    released_like = dataclasses.replace(witness, redeemer=1, signers=())
    assert codes([*sound(), cancelled, released_like]) == ["admin_signature", "redeemer"]


def test_an_allocation_the_ledger_no_longer_holds_is_flagged() -> None:
    still_locked = [lock.out_ref for lock in locks() if lock.milestone_id != M1]
    checked = reconcile(sound(), derive_schedule_id, unspent=set(still_locked))
    assert checked.ok and checked.ledger_checked
    [schedule] = reconcile(sound(), derive_schedule_id, unspent=set(still_locked[1:])).schedules
    assert [(f.code, f.out_ref) for f in schedule.flags] == [("ledger_disagrees", still_locked[0])]


def test_a_definition_that_derives_another_policy_is_flagged() -> None:
    [schedule] = reconcile(sound(), lambda definition: "00" * 28).schedules
    assert not schedule.derives and [f.code for f in schedule.flags] == ["policy_mismatch"]


def test_a_rollback_undoes_the_release_and_a_registration_below_it() -> None:
    report = reconcile([*sound(), RolledBack(point=point(15))], derive_schedule_id)
    [schedule] = report.schedules
    assert report.rollbacks == 1 and schedule.ok
    assert schedule.total.released == 0 and schedule.total.still_locked == DEFINITION.total_amount
    gone = reconcile([*sound(), RolledBack(point=point(5))], derive_schedule_id, [SID])
    assert gone.schedules == () and gone.missing == (SID,) and not gone.ok


@pytest.mark.parametrize("registered_here", [False, True])
def test_the_log_comparison_reads_both_spellings_of_a_schedule(registered_here: bool) -> None:
    chain = chain_facts(e for e in sound() if not isinstance(e, SpendWitness))
    chain.cursor = point(100)
    if registered_here:  # the daemon registered it: a local event, and each lock at its own block
        registration = ScheduleRegistered(
            schedule_id=SID, definition=schedule_document(DEFINITION), policy=discovered().policy
        )
        log_events = [registration, *locks(at=10), *release_items()[:-1]]
    else:  # discovered: the locks at the block that completed the registration (here later: slot 12)
        completed = dataclasses.replace(discovered(), point=point(12))
        log_events = [completed, *locks(at=12), *release_items()[:-1]]
    log = chain_facts(log_events)
    assert compare(chain, log, start_slot=-1).differences == ()
    behind = chain_facts(log_events[:-1])  # the log misses the last release event...
    found = compare(chain, behind, start_slot=-1)
    missing = log_events[-1]
    assert isinstance(missing, AllocationReleased)
    assert [(d.kind, d.subject) for d in found.differences] == [("only_on_chain", missing.out_ref)]
    behind.cursor = point(19)  # ...but when its cursor is below that slot, it is not compared
    assert compare(chain, behind, start_slot=-1).differences == ()


def test_the_log_comparison_covers_the_schedules_the_log_knows_unless_told() -> None:
    other = "ab" * 28
    stranger = dataclasses.replace(locks()[0], schedule_id=other, out_ref=f"{'ee' * 32}#0")
    chain = chain_facts([*sound(), dataclasses.replace(discovered(), schedule_id=other), stranger])
    chain.cursor = point(100)
    log = chain_facts(e for e in sound() if not isinstance(e, SpendWitness))
    followed = compare(chain, log, start_slot=-1)
    assert followed.differences == () and followed.not_followed == (other,)
    asked = compare(chain, log, start_slot=-1, schedules=[other])
    assert [(d.kind, d.subject) for d in asked.differences] == [
        ("only_on_chain", other),
        ("only_on_chain", stranger.out_ref),
    ]
    no_discovery = chain_facts(e for e in sound() if not isinstance(e, SpendWitness | ScheduleDiscovered))
    lost = compare(chain, no_discovery, start_slot=-1)  # known by its locks: its discovery is missed
    assert [(d.kind, d.subject) for d in lost.differences] == [("only_on_chain", SID)]


def test_a_moved_allocation_reconciles_under_its_new_beneficiary() -> None:
    """Issue 15: the old life ends `moved`, the new out-ref is the same allocation moved in (not a lock
    the definition lacks), and its release pays the new beneficiary."""
    from milestoned.eventlog.events import AllocationReassigned

    move_tx, new_owner = "d4" * 32, "addr_test1vq-new-owner"
    target = next(lock for lock in locks() if lock.milestone_id == M1)
    new_ref = f"{move_tx}#0"
    relocked = dataclasses.replace(
        target, point=point(15), tx_id=move_tx, out_ref=new_ref, beneficiary=new_owner
    )
    moved = AllocationReassigned(
        point(15), move_tx, SID, target.out_ref, new_ref, target.beneficiary, new_owner
    )
    spent = [lock for lock in locks() if lock.milestone_id == M1 and lock != target] + [relocked]
    paid: dict[str, int] = {}
    for lock in spent:
        paid[lock.beneficiary] = paid.get(lock.beneficiary, 0) + lock.amount
    witness = SpendWitness(
        point(20), RELEASE_TX, SID, 1, (Attested(M1, (signature(1), signature(2))),),
        tuple(Payout(who, amount, 2_000_000) for who, amount in paid.items()), (),
    )  # fmt: skip
    released = [AllocationReleased(point(20), RELEASE_TX, SID, lock.out_ref) for lock in spent]
    report = reconcile([discovered(), *locks(), moved, relocked, *released, witness], derive_schedule_id)
    [schedule] = report.schedules
    assert report.ok and schedule.flags == ()
    lines = {b.beneficiary: b for b in schedule.balances}
    assert (lines[new_owner].moved_in, lines[new_owner].released, lines[new_owner].paid) == (
        target.amount,
    ) * 3
    assert lines[target.beneficiary].moved_out == target.amount
    assert {life.out_ref: life.state for life in schedule.allocations}[target.out_ref] == "moved"
    assert schedule.total.allocated == DEFINITION.total_amount
