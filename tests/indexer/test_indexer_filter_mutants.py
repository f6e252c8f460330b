"""The block filter's edges: tests for mutants of `indexer/filter.py` that survived (issue 19).

The transaction pre-filter (`_touches`) is tested on its own contract, not only through whole blocks
(where a burn in `mint` usually names the schedule anyway): a transaction matters when it mints or
outputs a known schedule's token, or spends an open allocation or one locked earlier in the same block.
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from indexer_support import (
    BENEFICIARY,
    CONTRACT,
    OTHER_SCHEDULE,
    SCHEDULE,
    WALLET,
    allocation_output,
    block_of,
    mint_redeemer,
    payout,
    plain_output,
    ref,
    spend,
    transaction,
)

from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.eventlog.events import AllocationLocked, AllocationReclaimed, ChainPoint
from milestoned.indexer import filter as block_filter
from milestoned.indexer.filter import (
    _bech32,
    _touches,
    auth_token_policies,
    block_events,
    block_point,
    frame_mentions_any,
    milestones_cancelled,
    mint_redeemer_constructor,
    mint_redeemer_data,
    plutus_constructor,
)
from milestoned.ogmios.parsing import parse_block, parse_transaction

SID = SCHEDULE.schedule_id.hex()
KNOWN = {SID: "rules"}
ALLOCATION = "ab" * 32 + "#0"


def test_a_block_point_is_its_slot_and_id() -> None:
    block = block_of([], slot=4_242)
    assert block_point(block) == ChainPoint(4_242, block.id)


def test_a_reclaim_that_also_pays_a_tagged_output_is_still_a_reclaim() -> None:
    """The redeemer decides before the outputs: a Reclaim is a reclaim even with a schedule-tagged output."""
    tx = spend(SCHEDULE, [ALLOCATION], ot.Reclaim(), outputs=[payout(SCHEDULE)])
    events = block_events(block_of([tx], slot=9), CONTRACT, KNOWN, {ALLOCATION: SID})
    assert [type(e) for e in events] == [AllocationReclaimed]


def test_beneficiaries_with_one_payment_key_and_other_stake_keys_keep_their_own_address() -> None:
    plain = ot.address_to_plutus(BENEFICIARY)
    other_stake = ot.PlutusAddress(
        plain.payment_credential,
        ot.SomeStakingCredential(ot.StakingHash(ot.PubKeyCredential(bytes(range(28))))),
    )
    network = CONTRACT.network
    first, second = _bech32(plain, network), _bech32(other_stake, network)
    assert first == str(ot.plutus_to_address(plain, network))
    assert second == str(ot.plutus_to_address(other_stake, network)) != first


def test_the_bech32_memo_never_holds_more_than_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo lives as long as the daemon and beneficiaries keep coming: it is emptied when full, so it
    holds at most `_BECH32_MEMO_SIZE` addresses, and an address met when it is full is still right."""
    full = {("filler", n): "x" for n in range(block_filter._BECH32_MEMO_SIZE)}
    monkeypatch.setattr(block_filter, "_BECH32_MEMO", full)
    plain = ot.address_to_plutus(BENEFICIARY)
    assert _bech32(plain, CONTRACT.network) == str(ot.plutus_to_address(plain, CONTRACT.network))
    assert len(block_filter._BECH32_MEMO) <= block_filter._BECH32_MEMO_SIZE
    assert ("filler", 0) not in block_filter._BECH32_MEMO


def bare(**fields: Any) -> dict[str, Any]:
    """A transaction's JSON with only the fields given (no mint, no collaterals...)."""
    return {"id": "ee" * 32, **fields}


def test_a_transaction_matters_when_it_spends_an_open_or_a_just_locked_allocation() -> None:
    spends = bare(inputs=[ref("ab" * 32, 0)], outputs=[plain_output()])
    assert _touches(spends, KNOWN, {ALLOCATION: SID}, {})
    assert _touches(spends, KNOWN, {}, {ALLOCATION: SID})
    assert not _touches(spends, KNOWN, {}, {})
    assert not _touches(bare(inputs=[ref("ab" * 32, 1)]), KNOWN, {ALLOCATION: SID}, {ALLOCATION: SID})


def test_a_transaction_matters_when_it_mints_or_outputs_a_known_schedule_token() -> None:
    minting = bare(mint={SID: {"": 1}})
    assert _touches(minting, KNOWN, {}, {})
    assert not _touches(bare(mint={"00" * 28: {"": 1}}), KNOWN, {}, {})
    holding = bare(outputs=[{"address": "x", "value": {"ada": {"lovelace": 1}, SID: {"": 1}}}])
    assert _touches(holding, KNOWN, {}, {})
    assert not _touches(bare(outputs=[plain_output()]), KNOWN, {}, {})


def test_a_collateral_of_a_failed_transaction_is_checked_too() -> None:
    failed = bare(collaterals=[ref("ab" * 32, 0)])
    assert _touches(failed, KNOWN, {ALLOCATION: SID}, {})


def test_empty_named_assets_under_other_keys_or_shapes() -> None:
    policy = "cd" * 28
    assert auth_token_policies(b'{"' + policy.encode() + b'":{"":1}}') == [policy]
    assert auth_token_policies(b'""') is None  # truncated right after the empty string
    assert auth_token_policies(b'"":{"":1}') is None  # too close to the start to be under a policy id
    assert auth_token_policies(b'["a",{"":1}]') is None  # an object in a list: not Ogmios' value shape
    assert auth_token_policies(b'{"k":{"":1}}') == []  # keyed by something that is not a policy id
    assert auth_token_policies(b'{"a":""}') == []  # a string value, not a key


def test_the_policy_id_may_start_the_frame() -> None:
    """A frame that is exactly one value map: the policy id's opening quote is its first byte."""
    policy = "cd" * 28
    assert auth_token_policies(b'"' + policy.encode() + b'":{"":1}') == [policy]


def test_constructor_index_bounds() -> None:
    def tagged(tag: int, value: Any = None) -> str:
        return cbor2.dumps(cbor2.CBORTag(tag, [] if value is None else value)).hex()

    assert [plutus_constructor(tagged(t)) for t in (120, 121, 127, 128)] == [None, 0, 6, None]
    assert [plutus_constructor(tagged(t)) for t in (1279, 1280, 1400, 1401)] == [None, 7, 127, None]
    assert plutus_constructor(tagged(102, 5)) is None
    assert plutus_constructor(tagged(102, [])) is None


def test_the_mint_redeemer_is_found_by_purpose_and_index() -> None:
    tx = parse_transaction(spend(SCHEDULE, [ALLOCATION], ot.Release([])))
    assert mint_redeemer_constructor(tx, SID) == 1
    assert mint_redeemer_constructor(tx, "12" * 28) is None
    spend_only = transaction(
        mint={SID: {"": -1}},
        redeemers=[
            {
                "validator": {"purpose": "spend", "index": 0},
                "redeemer": ot.Release([]).to_cbor_hex(),
                "executionUnits": {"memory": 1, "cpu": 1},
            }
        ],
    )
    assert mint_redeemer_constructor(parse_transaction(spend_only), SID) is None


def test_another_token_of_the_schedule_policy_is_not_an_auth_token() -> None:
    """Only the empty-named auth token makes an allocation, not any asset under the schedule's policy."""
    output = allocation_output(SCHEDULE, auth_token=False)
    output["value"][SID] = {"78": 1}
    tx = transaction(outputs=[output], mint={SID: {"78": 1}})
    assert block_events(block_of([tx], slot=9), CONTRACT, KNOWN, {}) == []
    genuine = transaction(outputs=[allocation_output(SCHEDULE)], mint={SID: {"": 1}})
    assert [type(e).__name__ for e in block_events(block_of([genuine], slot=9), CONTRACT, KNOWN, {})] == [
        "AllocationLocked"
    ]


def test_a_byron_boundary_block_makes_no_event_even_without_a_frame() -> None:
    """An epoch boundary block has no slot: no point to record anything at. Typed without a frame, the
    pre-filter cannot rule it out, so the missing slot alone must skip it."""
    ebb = parse_block({"type": "ebb", "era": "byron", "id": "aa" * 32, "ancestor": "bb" * 32, "height": 7})
    assert (ebb.slot, ebb.source) == (None, None)
    assert block_events(ebb, CONTRACT, KNOWN, {ALLOCATION: SID}) == []


def test_beneficiaries_without_a_staking_part_or_with_a_pointer_keep_their_own_address() -> None:
    plain = ot.address_to_plutus(BENEFICIARY)
    enterprise = ot.PlutusAddress(plain.payment_credential, ot.NoStakingCredential())
    pointer = ot.PlutusAddress(plain.payment_credential, ot.SomeStakingCredential(ot.StakingPtr(12, 3, 1)))
    network = CONTRACT.network
    for address in (enterprise, pointer, enterprise):  # the second enterprise read comes from the memo
        assert _bech32(address, network) == canonical_address(ot.plutus_to_address(address, network))
    assert _bech32(enterprise, network) != _bech32(pointer, network)


def test_with_many_schedules_a_frame_holding_only_a_state_token_may_concern_one() -> None:
    """A pause or resume moves the schedule's `state` token, no empty-named one: beyond `MANY_SCHEDULES`
    the auth-token scan finds no policy there, so the state token's name sends the frame to the full scan."""
    many = [SID, *(f"{n:02x}" * 28 for n in range(1, block_filter.MANY_SCHEDULES + 1))]
    state = ot.STATE_TOKEN_NAME.hex()
    frame = b'{"value":{"ada":{"lovelace":2},"' + SID.encode() + b'":{"' + state.encode() + b'":1}}}'
    assert auth_token_policies(frame) == []
    assert frame_mentions_any(frame, many)
    assert not frame_mentions_any(frame, many[1:])


def test_the_mint_redeemer_of_the_second_minted_policy_is_the_one_at_index_1() -> None:
    first = "00" * 28  # sorts before SID
    tx = transaction(
        mint={SID: {"": -1}, first: {"01": 1}},
        redeemers=[mint_redeemer(0, ot.Reclaim()), mint_redeemer(1, ot.Release([]))],
    )
    typed = parse_transaction(tx)
    assert mint_redeemer_data(typed, SID) == ot.Release([]).to_cbor_hex()
    assert mint_redeemer_data(typed, first) == ot.Reclaim().to_cbor_hex()
    assert mint_redeemer_constructor(typed, SID) == 1


def test_only_tag_102_with_an_integer_first_reads_as_a_general_constructor() -> None:
    def tagged(tag: int, value: Any) -> str:
        return cbor2.dumps(cbor2.CBORTag(tag, value)).hex()

    assert plutus_constructor(tagged(102, [9, []])) == 9
    assert plutus_constructor(tagged(103, [9, []])) is None  # another tag holding the same list
    assert plutus_constructor(tagged(101, [9, []])) is None
    assert plutus_constructor(tagged(102, ["9", []])) is None  # the index must be an integer


def test_a_transaction_that_mints_nothing_of_the_schedule_cancels_no_milestone() -> None:
    tx = parse_transaction(
        transaction(mint={"00" * 28: {"01": 1}}, redeemers=[mint_redeemer(0, ot.Reclaim())])
    )
    assert milestones_cancelled(tx, ChainPoint(9, "cd" * 32), SID) == []


def test_a_spend_whose_output_at_its_position_belongs_to_another_schedule_is_no_move() -> None:
    """A move re-locks the allocation of the same schedule at its input's sorted position; an allocation
    of another schedule there (no valid chain has one) makes the spend no move."""
    other = OTHER_SCHEDULE.schedule_id.hex()
    tx = transaction(inputs=[ref("ab" * 32, 0)], outputs=[allocation_output(OTHER_SCHEDULE), plain_output()])
    known = {SID: "rules", other: "rules"}
    events = block_events(block_of([tx], slot=9), CONTRACT, known, {ALLOCATION: SID})
    # no burn, no redeemer, no output tagged for the schedule: where the tokens went says reclaim
    assert [type(e).__name__ for e in events] == ["AllocationReclaimed", "AllocationLocked"]
    assert isinstance(events[1], AllocationLocked) and events[1].schedule_id == other


def test_an_output_without_a_value_touches_nothing() -> None:
    """The screen reads raw JSON (only the transactions' boundaries were validated): an output that has
    no value holds no schedule's token, and must not stop the screen."""
    assert not _touches(bare(outputs=[{"address": "x"}, {"address": "y", "value": {}}]), KNOWN, {}, {})


def test_the_follower_may_pause_only_between_transactions_that_matter() -> None:
    """A transaction whose text names the schedule (here a spoofed allocation's datum) but that mints,
    holds and spends nothing of it is not typed: no pause before or after it."""
    mentions_only = transaction(outputs=[allocation_output(SCHEDULE, auth_token=False)])
    genuine = transaction(outputs=[allocation_output(SCHEDULE)], mint={SID: {"": 1}})
    pauses: list[int] = []
    block = block_of([mentions_only, genuine, mentions_only], slot=9)
    events = block_events(block, CONTRACT, KNOWN, {}, safe_point=lambda: pauses.append(1))
    assert [type(e).__name__ for e in events] == ["AllocationLocked"] and pauses == []
    again = transaction(outputs=[allocation_output(SCHEDULE)], mint={SID: {"": 1}})
    block_events(
        block_of([genuine, mentions_only, again], slot=9),
        CONTRACT,
        KNOWN,
        {},
        safe_point=lambda: pauses.append(1),
    )
    assert pauses == [1]


def test_a_contract_without_a_state_validator_does_not_look_at_state_tokens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`state_validator_hash` empty (the default): state UTxOs are not tracked, so a state token is not even
    judged (no warning that it sits outside its state)."""
    assert CONTRACT.state_validator_hash == b""
    state = {
        "address": WALLET,
        "value": {"ada": {"lovelace": 2_000_000}, SID: {ot.STATE_TOKEN_NAME.hex(): 1}},
    }
    tx = transaction(outputs=[state], mint={SID: {ot.STATE_TOKEN_NAME.hex(): 1}})
    with caplog.at_level("WARNING"):
        assert block_events(block_of([tx], slot=9), CONTRACT, KNOWN, {}) == []
    assert "state token" not in caplog.text


def test_a_cancel_redeemer_that_does_not_read_as_cancellations_gives_none() -> None:
    """The Cancel constructor (3) holding something else than attestations: no `MilestoneCancelled`, and
    no failure (the spend is still an `AllocationCancelled`)."""
    junk = cbor2.dumps(cbor2.CBORTag(124, [b"not a list of attestations"])).hex()
    tx = transaction(
        mint={SID: {"": -1}},
        redeemers=[
            {
                "validator": {"purpose": "mint", "index": 0},
                "redeemer": junk,
                "executionUnits": {"memory": 1, "cpu": 1},
            }
        ],
    )
    typed = parse_transaction(tx)
    assert mint_redeemer_constructor(typed, SID) == 3
    assert milestones_cancelled(typed, ChainPoint(9, "cd" * 32), SID) == []
