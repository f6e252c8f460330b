"""A release's payouts get their min-UTxO once per shape (`release.payouts_of`): each payout's lovelace
is what encoding that very payout gives (`fees.with_minimum_lovelace`), for every amount width at both
address lengths, in any order the shapes come in."""

from __future__ import annotations

from pycardano import (
    Address,
    Network,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    Value,
    VerificationKeyHash,
)

from milestoned.devnet.encode import protocol_parameters
from milestoned.devnet.parameters import MAINNET_CONWAY
from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.domain.schedule import Token
from milestoned.ogmios.parsing import parse_protocol_parameters
from milestoned.txbuilder import fees
from milestoned.txbuilder.allocations import AllocationUtxo
from milestoned.txbuilder.registration import tokens
from milestoned.txbuilder.release import payouts_of

PARAMS = parse_protocol_parameters(protocol_parameters(MAINNET_CONWAY))
TOKEN = Token(bytes(range(28)), b"MILE")
SCHEDULE = bytes(range(1, 29))
ENTERPRISE = Address(VerificationKeyHash(bytes(28)), network=Network.TESTNET)
BASE = Address(VerificationKeyHash(bytes(28)), VerificationKeyHash(bytes(range(28))), network=Network.TESTNET)
AMOUNTS = [1, 23, 24, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**63]


def _allocation(index: int, beneficiary: Address, amount: int, locked: int) -> AllocationUtxo:
    datum = ot.AllocationDatum(SCHEDULE, ot.address_to_plutus(beneficiary), amount, b"M1", 0)
    output = TransactionOutput(ENTERPRISE, Value(locked), datum=datum)
    return AllocationUtxo(
        TransactionInput(TransactionId(bytes(32)), index), output, datum, canonical_address(beneficiary)
    )


def test_each_payout_holds_what_encoding_it_gives() -> None:
    batch = [
        _allocation(i, address, amount, locked)
        for i, (address, amount, locked) in enumerate(
            (address, amount, locked)
            for locked in (0, 1_500_000, 5_000_000)
            for amount in AMOUNTS
            for address in (BASE, ENTERPRISE)
        )
    ]
    outputs, described = payouts_of(TOKEN, SCHEDULE, batch, PARAMS)
    assert len(outputs) == len(batch)  # every beneficiary differs from the one before: one run each
    for allocation, output, row in zip(batch, outputs, described, strict=True):
        unpaid = TransactionOutput(
            Address.from_primitive(allocation.beneficiary),
            Value(0, tokens(TOKEN.policy_id, TOKEN.asset_name, allocation.datum.amount)),
            datum=ot.payout_datum(SCHEDULE),
        )
        expected = fees.with_minimum_lovelace(PARAMS, unpaid, at_least=allocation.lovelace)
        assert output.to_cbor() == expected.to_cbor(), (allocation.datum.amount, allocation.beneficiary)
        assert row["lovelace"] == expected.amount.coin
