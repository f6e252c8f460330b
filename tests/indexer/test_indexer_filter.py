"""The pure block filter on hand-built blocks: what is an allocation, what is a release or a reclaim."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from indexer_support import (
    CONTRACT,
    OTHER_SCHEDULE,
    SCHEDULE,
    VALIDATOR_ADDRESS,
    WALLET,
    allocation_datum,
    allocation_output,
    block_of,
    out_ref,
    payout,
    plain_output,
    register,
    spend,
    transaction,
)
from pycardano import Address, PlutusData, ScriptHash

from milestoned.contracts.loader import default_blueprint
from milestoned.domain import onchain_types as ot
from milestoned.eventlog.events import (
    AllocationCancelled,
    AllocationLocked,
    AllocationReclaimed,
    AllocationReleased,
    ChainPoint,
    MilestoneCancelled,
)
from milestoned.indexer.filter import (
    MANY_SCHEDULES,
    WatchedContract,
    block_events,
    mentions_any,
    plutus_constructor,
)

KNOWN = {SCHEDULE.schedule_id.hex(): "rules"}
SID = SCHEDULE.schedule_id.hex()


def events_of(
    *transactions: dict[str, Any], open_allocations: dict[str, str] | None = None, known: Any = KNOWN
) -> list[Any]:
    block = block_of(list(transactions), slot=7_777)
    return block_events(block, CONTRACT, known, open_allocations or {})


def test_a_registration_locks_each_allocation_with_point_tx_and_datum() -> None:
    tx = register(SCHEDULE, count=2)
    block = block_of([tx], slot=4_242)
    events = block_events(block, CONTRACT, KNOWN, {})
    assert [type(e) for e in events] == [AllocationLocked, AllocationLocked]
    first = events[0]
    assert isinstance(first, AllocationLocked)
    assert first.point == ChainPoint(4_242, block.id)
    assert first.tx_id == tx["id"]
    assert [e.out_ref for e in events if isinstance(e, AllocationLocked)] == [out_ref(tx, 0), out_ref(tx, 1)]
    assert first.schedule_id == SID
    assert first.amount == 1_000
    assert first.milestone_id == b"m1".hex()
    assert first.vesting_time_ms == 1_700_000_100_000
    assert first.beneficiary.startswith("addr_test1")


def test_a_spoofed_utxo_without_the_auth_token_is_ignored() -> None:
    spoof = transaction(outputs=[allocation_output(SCHEDULE, auth_token=False)])
    assert events_of(spoof) == []


def test_a_token_without_a_datum_or_with_a_datum_hash_only_is_ignored() -> None:
    no_datum = transaction(outputs=[allocation_output(SCHEDULE, datum=None)])
    hashed = allocation_output(SCHEDULE, datum=None)
    hashed["datumHash"] = "ab" * 32
    assert events_of(no_datum, transaction(outputs=[hashed])) == []


@pytest.mark.parametrize(
    "datum",
    [
        "d87980",  # a constructor with no fields
        "4401020304",  # plain bytes
        allocation_datum(SCHEDULE, schedule_id=OTHER_SCHEDULE.schedule_id),  # names another schedule
        allocation_datum(SCHEDULE, amount=0),  # nothing allocated
    ],
    ids=["empty-constructor", "bytes", "other-schedule-id", "zero-amount"],
)
def test_a_token_with_a_malformed_datum_is_ignored(datum: str) -> None:
    assert events_of(transaction(outputs=[allocation_output(SCHEDULE, datum=datum)])) == []


def test_the_auth_token_away_from_the_validator_is_not_an_allocation() -> None:
    assert events_of(transaction(outputs=[allocation_output(SCHEDULE, address=WALLET)])) == []


def test_a_validator_address_with_a_staking_part_still_counts() -> None:
    staked = Address(ScriptHash(SCHEDULE.scripts.validator_hash), Address.from_primitive(WALLET).payment_part)
    events = events_of(transaction(outputs=[allocation_output(SCHEDULE, address=str(staked))]))
    assert [type(e) for e in events] == [AllocationLocked]


def test_an_unknown_schedule_is_ignored_entirely() -> None:
    other = register(OTHER_SCHEDULE)
    assert events_of(other) == []
    # and spending an out-ref the filter was never told about gives nothing either
    assert events_of(spend(OTHER_SCHEDULE, [out_ref(other, 0)], ot.Release([]))) == []
    assert events_of(register(SCHEDULE), known={}) == []


def test_a_release_is_recognised_by_the_release_redeemer() -> None:
    allocation = "ab" * 32 + "#0"
    tx = spend(SCHEDULE, [allocation], ot.Release([]), outputs=[payout(SCHEDULE)])
    events = events_of(tx, open_allocations={allocation: SID})
    assert events == [
        AllocationReleased(point=events[0].point, tx_id=tx["id"], schedule_id=SID, out_ref=allocation)
    ]


def test_a_reclaim_is_recognised_by_the_reclaim_redeemer() -> None:
    allocations = ["cd" * 32 + "#0", "cd" * 32 + "#1"]
    tx = spend(SCHEDULE, allocations, ot.Reclaim())
    events = events_of(tx, open_allocations=dict.fromkeys(allocations, SID))
    assert [type(e) for e in events] == [AllocationReclaimed, AllocationReclaimed]
    assert [e.out_ref for e in events] == allocations


def test_a_cancellation_is_recognised_by_the_cancel_redeemer_with_its_milestones_and_signers() -> None:
    allocations = ["ca" * 32 + "#0", "ca" * 32 + "#1"]
    cancellations = [
        ot.milestone_attestation(b"M2", {0: b"\x01" * 64, 2: b"\x02" * 64}),
        ot.milestone_attestation(b"M3", {1: b"\x03" * 64, 2: b"\x04" * 64}),
    ]
    tx = spend(SCHEDULE, allocations, ot.Cancel(cancellations))
    events = events_of(tx, open_allocations=dict.fromkeys(allocations, SID))
    point = events[0].point
    assert events == [
        AllocationCancelled(point=point, tx_id=tx["id"], schedule_id=SID, out_ref=allocations[0]),
        MilestoneCancelled(point, tx["id"], SID, b"M2".hex(), (0, 2)),
        MilestoneCancelled(point, tx["id"], SID, b"M3".hex(), (1, 2)),
        AllocationCancelled(point=point, tx_id=tx["id"], schedule_id=SID, out_ref=allocations[1]),
    ]
    assert all(isinstance(e, AllocationReclaimed) for e in events[::3])  # counted as reclaims everywhere


@dataclass
class UnknownRedeemer(PlutusData):
    """A redeemer of none of the policy's constructors (Register .. InitState: 0-4; the policy refuses it)."""

    CONSTR_ID = 5


def test_an_unknown_redeemer_constructor_is_not_taken_for_a_release() -> None:
    allocation = "ce" * 32 + "#0"
    reclaim_like = spend(SCHEDULE, [allocation], UnknownRedeemer())
    release_like = spend(SCHEDULE, [allocation], UnknownRedeemer(), outputs=[payout(SCHEDULE)])
    # none of constructors 1-3: where the tokens went decides, as for a missing redeemer
    assert [type(e) for e in events_of(reclaim_like, open_allocations={allocation: SID})] == [
        AllocationReclaimed
    ]
    assert [type(e) for e in events_of(release_like, open_allocations={allocation: SID})] == [
        AllocationReleased
    ]


def test_without_a_readable_redeemer_the_payout_tag_decides() -> None:
    allocation = "ef" * 32 + "#3"
    released = spend(SCHEDULE, [allocation], None, outputs=[payout(SCHEDULE)], with_redeemer=False)
    reclaimed = spend(SCHEDULE, [allocation], None, with_redeemer=False)
    assert [type(e) for e in events_of(released, open_allocations={allocation: SID})] == [AllocationReleased]
    assert [type(e) for e in events_of(reclaimed, open_allocations={allocation: SID})] == [
        AllocationReclaimed
    ]


def test_a_failed_script_transaction_spends_only_collaterals_and_creates_only_its_return() -> None:
    allocation = "12" * 32 + "#0"
    failed_release = spend(SCHEDULE, [allocation], ot.Release([]), failed=True)
    failed_register = register(SCHEDULE, failed=True)
    assert events_of(failed_release, failed_register, open_allocations={allocation: SID}) == []


def test_a_failed_transactions_collateral_return_is_judged_like_any_output() -> None:
    # A collateral return carrying the auth token to the validator (a ledger could never allow it) is at
    # index len(outputs), and is the only output that counts.
    tx = register(SCHEDULE, failed=True, collateral_return=allocation_output(SCHEDULE))
    events = events_of(tx)
    assert [e.out_ref for e in events] == [out_ref(tx, len(tx["outputs"]))]


def test_lock_and_release_in_the_same_block() -> None:
    locking = register(SCHEDULE)
    releasing = spend(SCHEDULE, [out_ref(locking, 0)], ot.Release([]), outputs=[payout(SCHEDULE)])
    events = events_of(locking, releasing)
    assert [type(e) for e in events] == [AllocationLocked, AllocationReleased]
    assert events[1].out_ref == out_ref(locking, 0)


def test_a_block_that_never_names_a_known_schedule_is_skipped_without_typing_it() -> None:
    block = block_of([transaction(outputs=[plain_output(), allocation_output(OTHER_SCHEDULE)])])
    assert block_events(block, CONTRACT, KNOWN, {}) == []
    assert not block._transactions.loaded


def test_the_filter_does_not_change_what_it_is_given() -> None:
    allocation = "34" * 32 + "#0"
    opened = {allocation: SID}
    events_of(register(SCHEDULE), spend(SCHEDULE, [allocation], ot.Release([])), open_allocations=opened)
    assert opened == {allocation: SID}


def test_the_contract_needs_a_real_script_hash() -> None:
    with pytest.raises(ValueError, match="28-byte script hash"):
        WatchedContract(b"\x01" * 5, CONTRACT.network)
    assert CONTRACT.is_validator_address(VALIDATOR_ADDRESS)
    assert not CONTRACT.is_validator_address("not an address")


def test_constructor_indexes_of_plutus_data() -> None:
    assert plutus_constructor(ot.Register().to_cbor_hex()) == 0
    assert plutus_constructor(ot.Release([]).to_cbor_hex()) == 1
    assert plutus_constructor(ot.Reclaim().to_cbor_hex()) == 2
    assert plutus_constructor("d9050280") == 9  # tag 1282: constructor 7 + 2
    assert plutus_constructor("d8668218c880") == 200  # tag 102, the general form
    assert plutus_constructor("01") is None
    assert plutus_constructor("zz") is None


def test_the_contract_of_a_network_is_the_committed_validator() -> None:
    devnet = WatchedContract.of_network("devnet")
    assert (devnet.validator_hash, devnet.network) == (CONTRACT.validator_hash, CONTRACT.network)
    assert devnet.state_validator_hash == default_blueprint().state_validator_hash  # issue 15
    assert WatchedContract.of_network("mainnet").network != devnet.network
    with pytest.raises(ValueError, match="unknown network"):
        WatchedContract.of_network("moon")


def test_with_many_known_schedules_the_one_scan_prefilter_agrees() -> None:
    many = {f"{i:056x}": "rules" for i in range(20)}
    assert len(many) > MANY_SCHEDULES
    with_ours = {**many, SID: "rules"}
    tx = register(SCHEDULE)
    assert [type(e) for e in events_of(tx, known=with_ours)] == [AllocationLocked]
    skipped = block_of([transaction(outputs=[allocation_output(OTHER_SCHEDULE)])])
    assert block_events(skipped, CONTRACT, with_ours, {}) == []
    assert not skipped._transactions.loaded
    assert mentions_any(block_of([register(OTHER_SCHEDULE)]), {**many, OTHER_SCHEDULE.schedule_id.hex(): 1})


def test_only_the_transactions_that_matter_are_typed_and_a_block_without_its_frame_still_works() -> None:
    locking = register(SCHEDULE)
    releasing = spend(SCHEDULE, [out_ref(locking, 0)], ot.Release([]), outputs=[payout(SCHEDULE)])
    noise = [transaction(outputs=[plain_output()]) for _ in range(5)]
    with_frame = block_of([*noise, locking, *noise, releasing])
    without_frame = block_of([*noise, locking, *noise, releasing], keep_source=False)
    framed = block_events(with_frame, CONTRACT, KNOWN, {})
    assert not with_frame._transactions.loaded  # the 10 others were never typed
    unframed = block_events(without_frame, CONTRACT, KNOWN, {})
    assert [replace(e, point=unframed[0].point) for e in framed] == unframed  # blocks differ only in id
    assert [type(e) for e in framed] == [AllocationLocked, AllocationReleased]


def test_the_safe_point_is_called_between_the_transactions_that_matter_and_changes_nothing() -> None:
    """The daemon pauses the follower there for its socket's queries (`daemon.query_priority`): between
    two of a block's transactions that matter, never before the first, and the events are the same."""
    txs = [register(SCHEDULE, count=2), register(SCHEDULE, count=1), transaction(), register(SCHEDULE)]
    block = block_of(txs, slot=7_778)
    calls: list[int] = []
    with_pauses = block_events(block, CONTRACT, KNOWN, {}, safe_point=lambda: calls.append(len(calls)))
    assert len(calls) == 2  # three registrations: two points between them; the plain transaction is skipped
    assert with_pauses == block_events(block, CONTRACT, KNOWN, {})
    assert len(with_pauses) == 4
