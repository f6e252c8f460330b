"""Coin selection and collateral choice: tests for mutants of `txbuilder/assembly.py` that survived
(issue 19). Selection takes token holders first (largest holding first), then plain UTxOs, largest
first; collateral is the smallest plain UTxO that covers it; what cannot be covered is refused with
the exact amounts.
"""

from __future__ import annotations

import pytest
from pycardano import (
    Address,
    Asset,
    AssetName,
    DatumHash,
    MultiAsset,
    Network,
    ScriptHash,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyHash,
)

from milestoned.devnet.encode import protocol_parameters
from milestoned.devnet.parameters import MAINNET_CONWAY
from milestoned.ogmios.parsing import parse_protocol_parameters
from milestoned.txbuilder import fees
from milestoned.txbuilder.assembly import TxPlan, _sum_values, is_plain, pick_collateral, select_inputs
from milestoned.txbuilder.errors import InsufficientFunds, NoCollateral

PARAMS = parse_protocol_parameters(protocol_parameters(MAINNET_CONWAY))
WALLET = Address(VerificationKeyHash(bytes(range(28))), network=Network.TESTNET)
POLICY = bytes([7] * 28)


def token(quantity: int) -> MultiAsset:
    return MultiAsset({ScriptHash(POLICY): Asset({AssetName(b"T"): quantity})})


def utxo(n: int, lovelace: int, tokens: int = 0, datum: object = None) -> UTxO:
    amount: int | Value = Value(lovelace, token(tokens)) if tokens else lovelace
    out = TransactionOutput(WALLET, amount, datum=datum)
    return UTxO(TransactionInput(TransactionId(bytes([n]) * 32), 0), out)


def plan(*wallet: UTxO) -> TxPlan:
    return TxPlan(kind="release", outputs=[], wallet=list(wallet), change_address=WALLET)


def ids(chosen: list[UTxO]) -> list[int]:
    return [u.input.transaction_id.payload[0] for u in chosen]


def test_plain_utxos_are_taken_largest_first_until_covered() -> None:
    wallet = plan(utxo(1, 3_000_000), utxo(2, 10_000_000), utxo(3, 5_000_000), utxo(4, 20_000_000, tokens=1))
    assert ids(select_inputs(wallet, Value(4_000_000), 1_000_000)) == [2]
    assert ids(select_inputs(wallet, Value(10_000_000), 0)) == [2]
    assert ids(select_inputs(wallet, Value(10_000_000), 1)) == [2, 3]
    assert ids(select_inputs(wallet, Value(17_000_000), 1_000_000)) == [2, 3, 1]
    assert ids(select_inputs(wallet, Value(19_000_000), 0)) == [2, 3, 1, 4]


def test_token_holders_come_first_largest_holding_first() -> None:
    wallet = plan(utxo(1, 2_000_000, tokens=5), utxo(2, 2_000_000, tokens=7), utxo(3, 50_000_000))
    assert ids(select_inputs(wallet, Value(1_000_000, token(6)), 0)) == [2]
    assert ids(select_inputs(wallet, Value(1_000_000, token(7)), 0)) == [2]
    assert ids(select_inputs(wallet, Value(1_000_000, token(8)), 0)) == [2, 1]
    assert ids(select_inputs(wallet, Value(5_000_000, token(8)), 0)) == [2, 1, 3]


def test_utxos_with_a_datum_are_never_selected() -> None:
    wallet = plan(utxo(1, 90_000_000, datum=5), utxo(2, 3_000_000))
    assert ids(select_inputs(wallet, Value(2_000_000), 0)) == [2]


def test_missing_tokens_are_refused_with_what_is_held() -> None:
    wallet = plan(utxo(1, 2_000_000, tokens=5))
    with pytest.raises(InsufficientFunds) as refused:
        select_inputs(wallet, Value(1_000_000, token(6)), 0)
    assert (refused.value.needed, refused.value.available) == (6, 5)
    assert str(refused.value).startswith(f"the paying wallet {WALLET} holds 5 of token {POLICY.hex()}.54 but")


def test_missing_lovelace_is_refused_with_the_shortfall() -> None:
    wallet = plan(utxo(1, 3_000_000), utxo(2, 4_000_000))
    assert ids(select_inputs(wallet, Value(6_000_000), 1_000_000)) == [2, 1]
    with pytest.raises(InsufficientFunds) as refused:
        select_inputs(wallet, Value(6_000_000), 1_000_001)
    assert (refused.value.needed, refused.value.available) == (7_000_001, 7_000_000)
    assert str(refused.value).endswith("send at least 1 more lovelace to it")


def test_collateral_is_the_smallest_plain_utxo_that_covers_it() -> None:
    wallet = plan(utxo(1, 9_000_000), utxo(2, 4_000_000), utxo(3, 3_000_000, tokens=1), utxo(4, 500_000))
    assert ids([pick_collateral(wallet, PARAMS, 1_000_000)]) == [2]
    assert ids(
        [pick_collateral(plan(utxo(3, 3_000_000, tokens=1), utxo(4, 500_000)), PARAMS, 1_000_000)]
    ) == [3]


def test_collateral_must_cover_its_percentage_and_the_return_minimum() -> None:
    needed = 1_500_000  # 150% of a 1 ADA fee bound
    minimum = fees.minimum_lovelace(PARAMS, TransactionOutput(WALLET, 1_000_000))
    assert ids([pick_collateral(plan(utxo(1, needed + minimum)), PARAMS, 1_000_000)]) == [1]
    with pytest.raises(NoCollateral) as refused:
        pick_collateral(plan(utxo(1, needed + minimum - 1)), PARAMS, 1_000_000)
    assert "holding at least 1,500,000 lovelace of collateral (150% of a fee up to 1,000,000)" in str(
        refused.value
    )


def test_a_token_no_utxo_holds_is_refused() -> None:
    with pytest.raises(InsufficientFunds) as refused:
        select_inputs(plan(utxo(1, 9_000_000)), Value(1_000_000, token(1)), 0)
    assert (refused.value.needed, refused.value.available) == (1, 0)


def test_plain_means_ada_only_without_datum_hash_or_script() -> None:
    assert is_plain(utxo(1, 2_000_000).output)
    assert not is_plain(utxo(1, 2_000_000, tokens=1).output)
    assert not is_plain(TransactionOutput(WALLET, 2_000_000, datum_hash=DatumHash(bytes(32))))
    assert not is_plain(utxo(1, 2_000_000, datum=5).output)


def test_a_utxo_with_a_datum_is_never_collateral() -> None:
    # neither is plain; by size alone the one with a datum would come first
    wallet = plan(utxo(1, 4_000_000, datum=5), utxo(2, 9_000_000, tokens=1))
    assert ids([pick_collateral(wallet, PARAMS, 1_000_000)]) == [2]


def test_values_add_up_exactly() -> None:
    assert _sum_values([]) == Value(0, MultiAsset())
    assert _sum_values([1, Value(2, token(3)), 4]) == Value(7, token(3))


def test_required_inputs_are_spent_first_and_others_only_for_what_they_lack() -> None:
    """An init state must spend its seed (issue 15), however small; the rest is selected as usual."""
    seed, small, large = utxo(1, 2_000_000), utxo(2, 4_000_000), utxo(3, 50_000_000)
    required = TxPlan(kind="init state", outputs=[], wallet=[seed, small, large], change_address=WALLET)
    required.required_inputs = [seed]
    assert select_inputs(required, Value(0), 1_000_000) == [seed]  # the seed covers it alone
    assert select_inputs(required, Value(1_500_000), 1_000_000) == [seed, large]  # then the largest
    assert select_inputs(plan(seed, small, large), Value(1_500_000), 1_000_000) == [large]


def test_a_required_input_holding_some_of_a_token_is_not_selected_a_second_time() -> None:
    """The required seed holds the most of the token but not enough: the rest comes from another holder,
    never from the seed again (an input spent twice)."""
    seed, other = utxo(1, 2_000_000, tokens=10), utxo(2, 2_000_000, tokens=5)
    required = TxPlan(kind="init state", outputs=[], wallet=[seed, other], change_address=WALLET)
    required.required_inputs = [seed]
    assert select_inputs(required, Value(0, token(12)), 0) == [seed, other]


def test_a_wallet_never_offers_a_reserved_utxo() -> None:
    """The state seeds of known guarded schedules are reserved: no release, reclaim, cancel or pause
    paid by the same wallet may spend one before its schedule's state is created."""
    from milestoned.txbuilder.utxo_codec import input_text
    from milestoned.txbuilder.wallet import ChainedWallet

    seed, other = utxo(1, 5_000_000), utxo(2, 50_000_000)
    assert ChainedWallet([seed, other], WALLET).utxos == [seed, other]
    assert ChainedWallet([seed, other], WALLET, reserved={input_text(seed.input)}).utxos == [other]
