"""Fee, min-ADA and collateral arithmetic at its edges: tests for mutants that survived (issue 19).

The parameters are the devnet's (Conway mainnet values) as our Ogmios client parses them; each test
changes the one parameter it is about, and expects the number the ledger rule gives, worked out here.
"""

from __future__ import annotations

import dataclasses

import cbor2
import pytest
from pycardano import Address, Network, TransactionOutput, VerificationKeyHash

from milestoned.devnet.encode import protocol_parameters
from milestoned.devnet.parameters import MAINNET_CONWAY
from milestoned.ogmios import model, state_queries
from milestoned.ogmios.parsing import parse_protocol_parameters
from milestoned.txbuilder import fees

PARAMS = parse_protocol_parameters(protocol_parameters(MAINNET_CONWAY))
TIERS = state_queries.ReferenceScriptsFee(base=15.0, range=25_600, multiplier=1.2)
OUTPUT = TransactionOutput(Address(VerificationKeyHash(bytes(28)), network=Network.TESTNET), 5)


def with_(**changes: object) -> state_queries.ProtocolParameters:
    return dataclasses.replace(PARAMS, **changes)  # type: ignore[arg-type]


def test_no_execution_prices_means_no_script_fee() -> None:
    assert fees.script_fee(with_(script_execution_prices=None), 1_000, 1_000) == 0


@pytest.mark.parametrize(
    ("size", "fee"),
    [
        (-5, 0),
        (0, 0),
        (1, 15),
        (25_600, 25_600 * 15),
        # the second tier at 15 × 1.2 = 18 per byte, the third at 21.6, floored once at the end
        (25_600 * 2 + 1, 25_600 * 15 + 25_600 * 18 + 21),
        (25_600 * 2 + 3, 25_600 * 15 + 25_600 * 18 + 64),
    ],
)
def test_reference_script_fee_tiers(size: int, fee: int) -> None:
    assert fees.reference_scripts_fee(with_(min_fee_reference_scripts=TIERS), size) == fee


def test_no_reference_script_tiers_means_no_reference_script_fee() -> None:
    assert fees.reference_scripts_fee(with_(min_fee_reference_scripts=None), 100_000) == 0


def test_a_zero_deposit_coefficient_needs_no_lovelace() -> None:
    free = with_(min_utxo_deposit_coefficient=0)
    assert fees.minimum_lovelace(free, OUTPUT) == 0
    assert fees.with_minimum_lovelace(free, OUTPUT).amount == 0


@pytest.mark.parametrize(
    ("percentage", "fee", "collateral"), [(None, 1_001, 1_502), (150, 1_001, 1_502), (100, 7, 7)]
)
def test_collateral_is_the_percentage_rounded_up_150_by_default(
    percentage: int | None, fee: int, collateral: int
) -> None:
    assert fees.required_collateral(with_(collateral_percentage=percentage), fee) == collateral


def test_missing_limits_default_to_the_mainnet_ones() -> None:
    assert fees.max_units(with_(max_execution_units_per_transaction=None)) == model.ExecutionUnits(
        14_000_000, 10_000_000_000
    )
    assert fees.max_tx_size(with_(max_transaction_size=None)) == 16_384
    limits = model.ExecutionUnits(1, 2)
    assert fees.max_units(with_(max_execution_units_per_transaction=limits)) == limits
    assert fees.max_tx_size(with_(max_transaction_size=99)) == 99


@pytest.mark.parametrize(
    "value", [0, 23, 24, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**64 - 1], ids=lambda v: f"{v:#x}"
)
def test_the_coin_width_is_the_cbor_encoding_length(value: int) -> None:
    """`uint_width` stands in for encoding the coin: it must agree with a CBOR encoder at every edge."""
    assert fees.uint_width(value) == len(cbor2.dumps(value))
