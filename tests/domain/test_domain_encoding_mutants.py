"""Non-canonical encodings of addresses and datums: tests for domain mutants that survived (issue 19).

Two spellings of one thing must not both be accepted where the bytes matter: a pointer address whose
slot is a non-minimal varint decodes to the same pointer as the minimal one but is another address on
chain, and a staking credential constructor with a field too many or too few is not the datum the
scripts wrote.
"""

from __future__ import annotations

import cbor2
import pytest
from pycardano import Address, Network, PointerAddress, VerificationKeyHash

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


def test_an_address_with_no_payload_is_not_well_formed() -> None:
    empty = bech32(b"")
    with pytest.raises(AddressError) as refused:
        parse_payment_address(empty, CardanoNetwork.PREPROD)
    assert (refused.value.problem, refused.value.hint) == (
        f"{_abbreviate(empty)} is not a well-formed address",
        "copy it again from the wallet",
    )


# The ledger keeps a pointer's slot as a Word32 and its indexes as Word16 (written out here, not taken
# from the module under test, so that a changed bound fails).
WORD32, WORD16 = 4_294_967_295, 65_535
HASH_KEY = VerificationKeyHash(bytes(range(1, 29)))


def pointer_address(slot: int, tx_index: int, cert_index: int) -> str:
    return str(Address(HASH_KEY, PointerAddress(slot, tx_index, cert_index), network=Network.TESTNET))


def test_the_largest_pointer_the_ledger_keeps_is_accepted() -> None:
    text = pointer_address(WORD32, WORD16, WORD16)
    pointer = parse_payment_address(text, CardanoNetwork.PREPROD).staking_part
    assert isinstance(pointer, PointerAddress)
    assert (pointer.slot, pointer.tx_index, pointer.cert_index) == (WORD32, WORD16, WORD16)


@pytest.mark.parametrize(
    "pointer", [(WORD32 + 1, 0, 0), (0, WORD16 + 1, 0), (0, 0, WORD16 + 1)], ids=["slot", "tx", "cert"]
)
def test_a_pointer_past_the_ledger_ranges_is_refused(pointer: tuple[int, int, int]) -> None:
    text = pointer_address(*pointer)
    with pytest.raises(AddressError) as refused:
        parse_payment_address(text, CardanoNetwork.PREPROD)
    slot, tx_index, cert_index = pointer
    assert (refused.value.problem, refused.value.hint) == (
        f"{_abbreviate(text)} is a pointer address whose pointer (slot {slot}, transaction {tx_index}, "
        f"certificate {cert_index}) is out of range (at most 4294967295, 65535, 65535): the ledger would "
        "not keep it, so no payout could reach it",
        "use the wallet's base or enterprise address",
    )


UNDECODABLE = [
    # a Byron start with no "1" in its first 12 characters (here the 13th is one)
    ("DdzFFzCqrhsw1prhfMF", "{} looks like a Byron (legacy) address, which Plutus scripts cannot pay to"),
    # the same start with a "1" among the first 12: bech32 text that happens to begin so
    ("Ae2tdPwUPEZ1abc", "{} mixes upper and lower case, which bech32 forbids"),
    ("ADDR_TEST1QQQQZQSRQSZSVPCGPY9Q", "{} is not a valid bech32 address (a wrong or missing character "
     "breaks its checksum)"),
    # no "1" in its first 12 characters, but no Byron start either
    ("QQQQQQQQQQQQQQQQ", "{} is not a valid bech32 address (a wrong or missing character "
     "breaks its checksum)"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "problem"), UNDECODABLE)
def test_text_that_is_no_bech32_is_named_by_what_it_looks_like(text: str, problem: str) -> None:
    with pytest.raises(AddressError) as refused:
        parse_payment_address(text, CardanoNetwork.PREPROD)
    assert refused.value.problem == problem.format(_abbreviate(text))


@pytest.mark.parametrize("paused", [0, 1])
def test_the_pause_redeemer_is_constructor_0_holding_the_new_flag(paused: int) -> None:
    """`SetPaused` as the state validator reads it (issue 15): Plutus constructor 0 (CBOR tag 121) with
    one field, the new value of `paused`; and its bytes read back."""
    encoded = ot.SetPaused(paused).to_cbor_hex()
    assert cbor2.loads(bytes.fromhex(encoded)) == cbor2.CBORTag(121, [paused])
    assert ot.SetPaused.from_cbor(encoded) == ot.SetPaused(paused)
