"""A beneficiary's move (issue 15) on hand-built blocks: the filter reads a spend that burns nothing of its
schedule as `AllocationReassigned` (old and new out-ref and beneficiary) plus the new `AllocationLocked`;
the follower's state follows the allocation, and the projections list it once, at its new out-ref."""

from __future__ import annotations

from indexer_support import (
    BENEFICIARY,
    CONTRACT,
    SCHEDULE,
    allocation_output,
    block_of,
    plain_output,
    ref,
    transaction,
)

from milestoned.contracts import scenarios
from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.eventlog.events import AllocationLocked, AllocationReassigned
from milestoned.eventlog.testing import TEST_SLOTS
from milestoned.indexer.filter import block_events
from milestoned.indexer.state import FollowerState
from milestoned.projections.changes import AddLock, AddMove, changes_for
from milestoned.projections.readmodels import ChainTip, ExitFact, Facts, LockFact, claimable_allocations
from milestoned.projections.readmodels import milestone_states as states

SID = SCHEDULE.schedule_id.hex()
OLD = "10" * 32 + "#0"
NEW_OWNER = scenarios.beneficiary("indexer-new-owner")


def moved_datum() -> str:
    datum = ot.AllocationDatum(
        SCHEDULE.schedule_id, ot.address_to_plutus(NEW_OWNER), 1_000, b"m1", 1_700_000_100_000
    )
    return str(datum.to_cbor_hex())


def move_tx(wallet_first: bool) -> dict[str, object]:
    """A move of OLD paid by one wallet input, which sorts before or after it (a filler output first)."""
    wallet = ref(("00" if wallet_first else "ff") * 32, 3)
    relocked = allocation_output(SCHEDULE, datum=moved_datum())
    outputs = [plain_output(1_000_000), relocked] if wallet_first else [relocked]
    return transaction(inputs=[ref("10" * 32, 0), wallet], outputs=[*outputs, plain_output()])


def test_a_spend_that_burns_nothing_is_a_move_to_the_output_at_the_inputs_position() -> None:
    old_owner = canonical_address(BENEFICIARY)
    for wallet_first, position in ((False, 0), (True, 1)):
        tx = move_tx(wallet_first)
        block = block_of([tx], slot=9_000)
        events = block_events(block, CONTRACT, {SID: "rules"}, {OLD: SID}, beneficiaries={OLD: old_owner})
        new_ref = f"{tx['id']}#{position}"
        assert [type(e) for e in events] == [AllocationReassigned, AllocationLocked]
        moved, locked = events
        assert isinstance(moved, AllocationReassigned) and isinstance(locked, AllocationLocked)
        assert (moved.out_ref, moved.new_out_ref, moved.tx_id) == (OLD, new_ref, tx["id"])
        assert (moved.old_beneficiary, moved.new_beneficiary) == (old_owner, canonical_address(NEW_OWNER))
        assert (locked.out_ref, locked.beneficiary) == (new_ref, moved.new_beneficiary)

        state = FollowerState()
        state.apply_all(events)
        assert state.open_allocations == {new_ref: SID} and state.beneficiaries[new_ref] == locked.beneficiary


def test_projections_list_a_moved_allocation_once_under_its_new_owner() -> None:
    tx = move_tx(False)
    moved, locked = block_events(block_of([tx], slot=9_000), CONTRACT, {SID: "rules"}, {OLD: SID})
    assert isinstance(moved, AllocationReassigned) and moved.old_beneficiary == ""  # not seen locked
    (add_move, _tip) = changes_for(moved, TEST_SLOTS)
    assert isinstance(add_move, AddMove) and add_move.new_out_ref == locked.out_ref
    (add_lock, _) = changes_for(locked, TEST_SLOTS)
    assert isinstance(add_lock, AddLock)
    old_lock = LockFact(OLD, SID, "6d31", "someone", 1_000, 1_700_000_100_000, "aa" * 32, 10)
    new_lock = LockFact(
        locked.out_ref, SID, "6d31", locked.beneficiary, 1_000, 1_700_000_100_000, tx["id"], 20
    )
    facts = Facts(
        schedules=(),
        signatures=(),
        locks=(old_lock, new_lock),
        releases=(),
        reclaims=(),
        tip=ChainTip(30, "dd" * 32, 1_700_000_200_000),
        moves=(ExitFact(OLD, SID, tx["id"], 20),),
    )
    rows = claimable_allocations(facts)
    assert [(r.out_ref, r.beneficiary) for r in rows] == [(locked.out_ref, locked.beneficiary)]
    (state,) = states(facts)
    assert (state.allocations_locked, state.amount_locked) == (1, 1_000)
