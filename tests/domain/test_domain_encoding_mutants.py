"""Non-canonical encodings of addresses and datums: tests for domain mutants that survived (issue 19).

Two spellings of one thing must not both be accepted where the bytes matter: a pointer address whose
slot is a non-minimal varint decodes to the same pointer as the minimal one but is another address on
chain, and a staking credential constructor with a field too many or too few is not the datum the
scripts wrote.
"""

from __future__ import annotations

import cbor2
import pytest
from pycardano import Address, Network, VerificationKeyHash

from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import AddressError, _abbreviate, parse_payment_address
from milestoned.domain.network import CardanoNetwork

from .test_domain_addresses_mutants import HASH, bech32


def test_a_pointer_address_with_a_non_minimal_varint_is_refused() -> None:
    minimal = bech32(bytes([0x40]) + HASH + bytes([0x01, 0x02, 0x03]))
    assert parse_payment_address(minimal, CardanoNetwork.PREPROD).encode() == minimal
    padded = bech32(bytes([0x40]) + HASH + bytes([0x80, 0x01, 0x02, 0x03]))  # slot 1 spelt in two bytes
    with pytest.raises(AddressError) as refused:
        parse_payment_address(padded, CardanoNetwork.PREPROD)
    assert refused.value.problem == (
        f"{_abbreviate(padded)} has 33 bytes, the wrong length for its address type"
    )


def datum_with_staking(staking: object) -> bytes:
    """An allocation datum whose beneficiary has the staking part `staking` (a CBOR value)."""
    payment = cbor2.CBORTag(121, [b"p" * 28])
    address = cbor2.CBORTag(121, [payment, staking])
    return cbor2.dumps(cbor2.CBORTag(121, [b"s" * 28, address, 5, b"m1", 0]))


STAKE_HASH = cbor2.CBORTag(121, [cbor2.CBORTag(121, [b"k" * 28])])  # StakingHash(PubKeyCredential)


def test_a_staking_credential_with_one_field_is_read() -> None:
    datum = ot.allocation_datum_from_cbor(datum_with_staking(cbor2.CBORTag(121, [STAKE_HASH])))
    expected = Address(
        VerificationKeyHash(b"p" * 28), VerificationKeyHash(b"k" * 28), network=Network.TESTNET
    )
    assert datum.beneficiary == ot.address_to_plutus(expected)


@pytest.mark.parametrize("fields", [[], [STAKE_HASH, STAKE_HASH], [STAKE_HASH, 0]])
def test_a_staking_credential_with_another_arity_is_refused(fields: list[object]) -> None:
    staking = cbor2.CBORTag(121, fields)
    with pytest.raises(ot.OnchainDecodeError) as refused:
        ot.allocation_datum_from_cbor(datum_with_staking(staking))
    assert str(refused.value) == f"not an allocation datum: unreadable staking part {ot._show(staking)}"
