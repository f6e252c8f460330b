"""Reading the bech32 addresses and key hashes people paste into a schedule.

pycardano decodes the bytes, but it accepts more than a schedule should: it does not compare the
bech32 prefix with the network id in the header, falls back to Byron base58, and decodes stake
addresses like payment ones. Tokens sent to an address of the wrong network or to a reward address
cannot be received, so those are refused here, each with a message that says which mistake it is.
"""

from __future__ import annotations

import re

from pycardano import Address, PointerAddress, VerificationKeyHash
from pycardano.crypto.bech32 import convertbits

from milestoned.domain import bech32
from milestoned.domain.json_types import json_type_name
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.validation_errors import InputProblem

KEY_HASH_BYTES = 28
# The ranges a ledger keeps a pointer in (slot: Word32, transaction and certificate index: Word16); since
# Conway it reads any other pointer as (0, 0, 0), so a payout could never match the address as written.
POINTER_SLOT_MAX = 2**32 - 1
POINTER_INDEX_MAX = 2**16 - 1
_HEX_KEY_HASH = re.compile(r"[0-9a-fA-F]{56}")
_STAKE_PREFIXES = ("stake", "stake_test")
_PAYMENT_PREFIXES = ("addr", "addr_test")
_BYRON_STARTS = ("Ae2", "Ddz", "DdzFF", "37btjr", "KjgoiXJS")


class AddressError(InputProblem):
    """An address that cannot receive this schedule's tokens."""


def parse_payment_address(value: object, network: CardanoNetwork | None) -> Address:
    """The Shelley payment address `value` (bech32 text) denotes, checked to belong to `network`.

    `network` is None when the schedule's own network is unreadable: the address is then still checked
    for everything but its network, so one typo does not hide the other errors of a file.
    """
    prefix = _expected_prefix(network)
    if not isinstance(value, str):
        raise AddressError(
            f"must be a bech32 address string, got {json_type_name(value)}",
            f'write it in quotes, e.g. "{prefix}…"',
        )
    text = value.strip()
    if not text:
        raise AddressError("is empty", f"paste the address, starting {prefix}")
    if text != value:
        raise AddressError(
            "has spaces or line breaks around the address", "remove them; copy only the address itself"
        )
    decoded = bech32.decode(text)  # a Bech32m checksum (not Cardano's) is refused too
    if decoded is None:
        raise _undecodable(text, prefix)
    hrp, data = decoded
    if hrp in _STAKE_PREFIXES:
        raise AddressError(
            f"{_abbreviate(text)} is a stake (reward) address, which cannot hold tokens",
            f"use the wallet's payment address, starting {prefix}",
        )
    if hrp not in _PAYMENT_PREFIXES:
        raise AddressError(
            f"{_abbreviate(text)} has the prefix '{hrp}', which is not a Cardano payment address",
            f"a payment address starts {prefix}",
        )
    if network is not None and (hrp == "addr") != network.is_mainnet:
        which = "a mainnet" if hrp == "addr" else "a testnet"
        raise AddressError(
            f"{_abbreviate(text)} is {which} address but the schedule's network is {network.describe()}",
            f"use a {network.value} address, starting {prefix}, or correct the schedule's network",
        )
    payload = convertbits(data, 5, 8, False)
    if payload is None or len(payload) < 1:
        raise AddressError(
            f"{_abbreviate(text)} is not a well-formed address", "copy it again from the wallet"
        )
    header = payload[0]
    address_type = header >> 4
    if address_type in (0b1110, 0b1111):
        raise AddressError(
            f"{_abbreviate(text)} is a stake (reward) address, which cannot hold tokens",
            f"use the wallet's payment address, starting {prefix}",
        )
    if address_type == 0b1000:
        raise AddressError(f"{_abbreviate(text)} is a Byron address", "use a Shelley payment address")
    if header & 0x0F != (1 if hrp == "addr" else 0):
        raise AddressError(
            f"{_abbreviate(text)} has the prefix '{hrp}' but network id {header & 0x0F} in its header; "
            "it is malformed",
            "copy the address again from the wallet",
        )
    try:
        address = Address.from_primitive(bytes(payload))
    except Exception as error:  # pycardano raises several unrelated types for malformed payloads
        raise AddressError(
            f"{_abbreviate(text)} is not a well-formed Shelley address ({error})",
            "copy it again from the wallet",
        ) from None
    # The bytes read back as written, so the address' bech32 spelling is `text.lower()`: compared as bytes,
    # since re-encoding costs two more pure-Python checksums (the hrp and the checksum kind are checked above)
    if bytes(address) != bytes(payload):
        raise AddressError(
            f"{_abbreviate(text)} has {len(payload)} bytes, the wrong length for its address type",
            "copy it again from the wallet; part of it may be missing or repeated",
        )
    pointer = address.staking_part
    if isinstance(pointer, PointerAddress) and not (
        pointer.slot <= POINTER_SLOT_MAX
        and pointer.tx_index <= POINTER_INDEX_MAX
        and pointer.cert_index <= POINTER_INDEX_MAX
    ):
        raise AddressError(
            f"{_abbreviate(text)} is a pointer address whose pointer (slot {pointer.slot}, transaction "
            f"{pointer.tx_index}, certificate {pointer.cert_index}) is out of range (at most "
            f"{POINTER_SLOT_MAX}, {POINTER_INDEX_MAX}, {POINTER_INDEX_MAX}): the ledger would not keep it, "
            "so no payout could reach it",
            "use the wallet's base or enterprise address",
        )
    return address


def parse_admin_key_hash(value: object, network: CardanoNetwork | None) -> bytes:
    """The admin's 28-byte payment key hash, from 56 hex digits or a key address on `network`.

    The minting policy checks a signature by this key hash, so an address whose payment part is a
    script cannot name an admin.
    """
    prefix = _expected_prefix(network)
    if isinstance(value, str) and _HEX_KEY_HASH.fullmatch(value):
        return bytes.fromhex(value)
    if isinstance(value, str) and value.strip().lower().startswith(_PAYMENT_PREFIXES + _STAKE_PREFIXES):
        address = parse_payment_address(value, network)
        if not isinstance(address.payment_part, VerificationKeyHash):
            raise AddressError(
                f"{_abbreviate(value)} pays to a script, but the admin must sign with a key",
                "use an address whose payment part is a key, or the 56-hex payment key hash "
                "(cardano-cli address key-hash --payment-verification-key-file admin.vkey)",
            )
        return bytes(address.payment_part.payload)
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]*", value):
        raise AddressError(
            f"a payment key hash has 56 hex digits (28 bytes), got {len(value)} digits",
            "use `cardano-cli address key-hash --payment-verification-key-file admin.vkey`, "
            "or give the admin's address instead",
        )
    if isinstance(value, str):
        raise AddressError(
            f"must be the admin's payment key hash (56 hex digits) or a key address starting {prefix}",
            "use `cardano-cli address key-hash --payment-verification-key-file admin.vkey`, "
            "or the admin wallet's address",
        )
    raise AddressError(
        f"must be a string, got {json_type_name(value)}",
        f'write the 56-hex payment key hash or an address in quotes, e.g. "{prefix}…"',
    )


def canonical_address(address: Address) -> str:
    """The one spelling of an address the domain stores and compares: lowercase bech32.

    Encoded here rather than by `Address.encode`, which decodes its own result again to check it (one
    more pure-Python checksum; a schedule of 10,000 allocations reads thousands of addresses)."""
    if address.is_byron:
        return str(address.encode())
    return bech32.encode(address.hrp, convertbits(bytes(address), 8, 5))


def _expected_prefix(network: CardanoNetwork | None) -> str:
    """How a payment address on `network` begins, for hints."""
    return f"{network.address_prefix}1" if network is not None else "addr1 (mainnet) or addr_test1 (testnets)"


def _undecodable(text: str, prefix: str) -> AddressError:
    if text.startswith(_BYRON_STARTS) and "1" not in text[:12]:
        return AddressError(
            f"{_abbreviate(text)} looks like a Byron (legacy) address, which Plutus scripts cannot pay to",
            f"use a Shelley payment address, starting {prefix}",
        )
    if text.lower() != text and text.upper() != text:
        return AddressError(
            f"{_abbreviate(text)} mixes upper and lower case, which bech32 forbids",
            "copy the address again from the wallet",
        )
    return AddressError(
        f"{_abbreviate(text)} is not a valid bech32 address (a wrong or missing character breaks its "
        "checksum)",
        "copy the address again from the wallet rather than typing it",
    )


def _abbreviate(text: str) -> str:
    """Enough of an address to recognise it in a message, without a 100-character line."""
    return repr(text) if len(text) <= 40 else repr(f"{text[:20]}…{text[-8:]}")
