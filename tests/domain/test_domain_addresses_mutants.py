"""Address headers, network ids and small guards: tests for domain mutants that survived (issue 19).

The addresses are hand-built bech32 with chosen header bytes, so each refusal is reached by the header
it is about (a stake or Byron header behind a payment prefix, a one-byte payload, a surplus byte).
"""

from __future__ import annotations

import pytest
from pycardano import Address
from pycardano.crypto.bech32 import Encoding, bech32_encode, convertbits

from milestoned.domain.addresses import AddressError, _abbreviate, canonical_address, parse_payment_address
from milestoned.domain.allocation import Allocation
from milestoned.domain.attestation import attestation_message
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.oracle_keys import verification_key_envelope
from milestoned.domain.schedule import ScheduleDefinition, Token

HASH = bytes(range(1, 29))


def bech32(payload: bytes, hrp: str = "addr_test") -> str:
    data = convertbits(list(payload), 8, 5)
    assert data is not None
    return bech32_encode(hrp, data, Encoding.BECH32)


def problem(text: str) -> str:
    with pytest.raises(AddressError) as refused:
        parse_payment_address(text, CardanoNetwork.PREPROD)
    return refused.value.problem


def test_an_enterprise_address_is_accepted() -> None:
    text = bech32(bytes([0x60]) + HASH)
    assert parse_payment_address(text, CardanoNetwork.PREPROD).encode() == text


@pytest.mark.parametrize("header", [0xE0, 0xF0])
def test_a_reward_header_behind_a_payment_prefix_is_a_stake_address(header: int) -> None:
    text = bech32(bytes([header]) + HASH)
    assert problem(text) == f"{_abbreviate(text)} is a stake (reward) address, which cannot hold tokens"


def test_a_byron_header_is_named() -> None:
    text = bech32(bytes([0x80]) + HASH)
    assert problem(text) == f"{_abbreviate(text)} is a Byron address"


def test_a_one_byte_payload_is_not_a_shelley_address() -> None:
    text = bech32(bytes([0x60]))
    assert problem(text).startswith(f"{_abbreviate(text)} is not a well-formed Shelley address (")


def test_a_surplus_byte_is_refused() -> None:
    text = bech32(bytes([0x60]) + HASH + b"\x00")
    assert problem(text).startswith(f"{_abbreviate(text)} is not a well-formed Shelley address (")


def test_a_bech32m_checksum_is_refused() -> None:
    """The payload is compared as bytes, not re-encoded: the checksum's kind must be checked itself."""
    data = convertbits(list(bytes([0x60]) + HASH), 8, 5)
    assert data is not None
    text = bech32_encode("addr_test", data, Encoding.BECH32M)
    assert "is not a valid bech32 address" in problem(text)


@pytest.mark.parametrize(
    ("payload", "hrp"),
    [
        (bytes([0x00]) + HASH + HASH[::-1], "addr_test"),  # base
        (bytes([0x71]) + HASH, "addr"),  # enterprise script, mainnet
        (bytes([0x40]) + HASH + bytes([0x81, 0x00, 0x02, 0x03]), "addr_test"),  # pointer
    ],
)
def test_the_canonical_spelling_is_lowercase_bech32(payload: bytes, hrp: str) -> None:
    text = bech32(payload, hrp)
    network = CardanoNetwork.MAINNET if hrp == "addr" else CardanoNetwork.PREPROD
    address = parse_payment_address(text.upper(), network)
    assert canonical_address(address) == address.encode() == text


def test_a_byron_address_keeps_its_base58_spelling() -> None:
    text = "DdzFFzCqrhsw3prhfMFDNFowbzUku3QmrMwarfjUbWXRisodn97R436SHc1rimp4"
    text += "MhPNmbdYb1aTdqtGSJixMVMi5MkArDQJ6Sc1n3Ez"
    assert canonical_address(Address.decode(text)) == text


def test_long_texts_are_abbreviated_in_messages() -> None:
    assert _abbreviate("a" * 40) == repr("a" * 40)
    assert _abbreviate("a" * 21 + "b" * 20) == repr("a" * 20 + "…" + "b" * 8)


def test_network_ids_and_prefixes() -> None:
    assert [n.network_id for n in CardanoNetwork] == [1, 0, 0, 0]
    assert [n.address_prefix for n in CardanoNetwork] == ["addr", "addr_test", "addr_test", "addr_test"]


def test_an_attestation_needs_a_28_byte_schedule_id() -> None:
    assert attestation_message(bytes(28), b"m") == b"milestoned/attest/v1" + bytes(28) + b"m"
    with pytest.raises(ValueError, match=r"^schedule id must be 28 bytes, got 27$"):
        attestation_message(bytes(27), b"m")


def test_a_verification_key_envelope_needs_32_bytes() -> None:
    assert verification_key_envelope(bytes(32))["cborHex"] == "5820" + "00" * 32
    with pytest.raises(ValueError, match=r"^an ed25519 verification key has 32 bytes, got 31$"):
        verification_key_envelope(bytes(31))


def test_allocations_of_one_milestone() -> None:
    first, second = Allocation("a", 1, b"m1", 0), Allocation("b", 2, b"m2", 0)
    definition = ScheduleDefinition(
        CardanoNetwork.PREPROD,
        bytes(28),
        Token(bytes(28), b"T"),
        (bytes(32),),
        1,
        0,
        b"n",
        (first, second, first),
    )
    assert list(definition.allocations_for(b"m1")) == [first, first]
