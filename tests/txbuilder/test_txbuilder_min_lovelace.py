"""Min-ADA by arithmetic on the coin's width (issue 18.4) gives what encoding the output at its answer
gives: the output at the returned coin needs exactly that coin, and one encoding less is never more."""

from __future__ import annotations

import pytest
from pycardano import (
    Address,
    MultiAsset,
    Network,
    PlutusV3Script,
    TransactionOutput,
    Value,
    VerificationKeyHash,
)

from milestoned.devnet.encode import protocol_parameters
from milestoned.devnet.parameters import MAINNET_CONWAY
from milestoned.domain import onchain_types as ot
from milestoned.ogmios.parsing import parse_protocol_parameters
from milestoned.txbuilder import fees

PARAMS = parse_protocol_parameters(protocol_parameters(MAINNET_CONWAY))
ADDRESS = Address(
    VerificationKeyHash(bytes(28)), VerificationKeyHash(bytes(range(28))), network=Network.TESTNET
)


def _tokens(amount: int) -> MultiAsset:
    return MultiAsset.from_primitive({bytes(range(28)): {b"MILE": amount}})


CASES = [
    TransactionOutput(ADDRESS, 0),
    TransactionOutput(ADDRESS, 5),
    TransactionOutput(ADDRESS, 2**40),
    TransactionOutput(ADDRESS, Value(0, _tokens(1))),
    TransactionOutput(ADDRESS, Value(7, _tokens(2**33)), datum=ot.payout_datum(bytes(28))),
    TransactionOutput(ADDRESS, Value(0, MultiAsset()), script=PlutusV3Script(bytes(3_000))),
]


def _needs(output: TransactionOutput, coin: int) -> int:
    """The ledger's rule by encoding: (160 + size of the output holding `coin`) × coefficient."""
    amount = Value(coin, output.amount.multi_asset) if isinstance(output.amount, Value) else coin
    probe = TransactionOutput(output.address, amount, datum=output.datum, script=output.script)
    probe.post_alonzo = True
    return (fees.MIN_UTXO_OVERHEAD_BYTES + len(probe.to_cbor())) * PARAMS.min_utxo_deposit_coefficient


@pytest.mark.parametrize("output", CASES)
def test_the_minimum_is_the_encoded_outputs_fixed_point(output: TransactionOutput) -> None:
    minimum = fees.minimum_lovelace(PARAMS, output)
    held = max(minimum, output.amount) if isinstance(output.amount, int) else minimum
    assert _needs(output, held) == minimum
    paid = fees.with_minimum_lovelace(PARAMS, output, at_least=minimum + 1)
    assert paid.amount.coin == minimum + 1 and paid is not output
    assert paid.amount.multi_asset == (output.amount.multi_asset if isinstance(output.amount, Value) else {})
    assert (paid.datum, paid.script) == (output.datum, output.script)
