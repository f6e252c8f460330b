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
    SCHEDULE,
    allocation_output,
    block_of,
    payout,
    plain_output,
    ref,
    spend,
    transaction,
)

from milestoned.domain import onchain_types as ot
from milestoned.eventlog.events import AllocationReclaimed, ChainPoint
from milestoned.indexer import filter as block_filter
from milestoned.indexer.filter import (
    _bech32,
    _touches,
    auth_token_policies,
    block_events,
    block_point,
    mint_redeemer_constructor,
    plutus_constructor,
)
from milestoned.ogmios.parsing import parse_transaction

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
