"""Addresses and oracle keys as people paste them: the right ones read, each wrong kind named."""

from __future__ import annotations

import json

import pytest
from nacl.signing import SigningKey
from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    ScriptHash,
    StakeSigningKey,
    StakeVerificationKey,
    VerificationKeyHash,
)

from milestoned.domain.addresses import (
    AddressError,
    _abbreviate,
    canonical_address,
    parse_admin_key_hash,
    parse_payment_address,
)
from milestoned.domain.network import CardanoNetwork
from milestoned.domain.oracle_keys import (
    OracleKeyError,
    parse_oracle_key,
    parse_text_envelope,
    verification_key_envelope,
)

KEY_HASH = VerificationKeyHash(bytes(range(28)))
STAKE_HASH = VerificationKeyHash(bytes(range(100, 128)))
TESTNET_ADDRESS = str(Address(KEY_HASH, STAKE_HASH, network=Network.TESTNET))
MAINNET_ADDRESS = str(Address(KEY_HASH, STAKE_HASH, network=Network.MAINNET))
SCRIPT_ADDRESS = str(Address(ScriptHash(bytes(28)), network=Network.TESTNET))
STAKE_ADDRESS = str(Address(None, STAKE_HASH, network=Network.TESTNET))
LAST_CHAR_TYPO = "q" if TESTNET_ADDRESS[-1] != "q" else "p"
ORACLE_SEED = bytes(range(32))
ORACLE_KEY = bytes(SigningKey(ORACLE_SEED).verify_key)


@pytest.mark.parametrize("network", [CardanoNetwork.DEVNET, CardanoNetwork.PREPROD, CardanoNetwork.PREVIEW])
def test_testnet_addresses_are_read_on_every_testnet(network: CardanoNetwork) -> None:
    address = parse_payment_address(TESTNET_ADDRESS, network)
    assert address.payment_part is not None
    assert bytes(address.payment_part.payload) == bytes(range(28))
    assert canonical_address(address) == TESTNET_ADDRESS


def test_upper_case_bech32_is_accepted_and_stored_lower_case() -> None:
    address = parse_payment_address(TESTNET_ADDRESS.upper(), CardanoNetwork.DEVNET)
    assert canonical_address(address) == TESTNET_ADDRESS


CHECKSUM = "{} is not a valid bech32 address (a wrong or missing character breaks its checksum)"
RETYPED = "copy the address again from the wallet rather than typing it"


@pytest.mark.parametrize(
    ("value", "network", "problem", "hint"),
    [
        (MAINNET_ADDRESS, CardanoNetwork.DEVNET,
         "{} is a mainnet address but the schedule's network is devnet (a testnet)",
         "use a devnet address, starting addr_test1, or correct the schedule's network"),
        (TESTNET_ADDRESS, CardanoNetwork.MAINNET,
         "{} is a testnet address but the schedule's network is mainnet",
         "use a mainnet address, starting addr1, or correct the schedule's network"),
        (STAKE_ADDRESS, CardanoNetwork.DEVNET, "{} is a stake (reward) address, which cannot hold tokens",
         "use the wallet's payment address, starting addr_test1"),
        (TESTNET_ADDRESS[:-1] + LAST_CHAR_TYPO, CardanoNetwork.DEVNET, CHECKSUM, RETYPED),
        (TESTNET_ADDRESS[:30], CardanoNetwork.DEVNET, CHECKSUM, RETYPED),
        (TESTNET_ADDRESS[:12] + TESTNET_ADDRESS[12:].upper(), CardanoNetwork.DEVNET,
         "{} mixes upper and lower case, which bech32 forbids", "copy the address again from the wallet"),
        ("DdzFFzCqrhsw3prhfMFDNFowbzUku3QmrMwarfjUbWXRisodn97R436SHc1rimp4MhPNmbdYb1aTdqtGSJixMVMi5MkArDQJ6Sc1n3Ez",
         CardanoNetwork.MAINNET, "{} looks like a Byron (legacy) address, which Plutus scripts cannot pay to",
         "use a Shelley payment address, starting addr1"),
        ("", CardanoNetwork.DEVNET, "is empty", "paste the address, starting addr_test1"),
        (" " + TESTNET_ADDRESS, CardanoNetwork.DEVNET, "has spaces or line breaks around the address",
         "remove them; copy only the address itself"),
        (42, CardanoNetwork.DEVNET, "must be a bech32 address string, got a whole number",
         'write it in quotes, e.g. "addr_test1…"'),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", CardanoNetwork.DEVNET,
         "{} has the prefix 'bc', which is not a Cardano payment address",
         "a payment address starts addr_test1"),
    ],
)  # fmt: skip
def test_addresses_that_cannot_receive_the_tokens_are_named(
    value: object, network: CardanoNetwork, problem: str, hint: str
) -> None:
    """The whole problem (with the address abbreviated where `{}` stands) and the whole hint."""
    with pytest.raises(AddressError) as raised:
        parse_payment_address(value, network)
    assert (raised.value.problem, raised.value.hint) == (problem.format(_abbreviate(str(value))), hint)


def test_an_address_whose_header_network_contradicts_its_prefix_is_malformed() -> None:
    from pycardano.crypto.bech32 import Encoding, bech32_encode, convertbits

    payload = bytes(Address(KEY_HASH, network=Network.MAINNET).to_primitive())
    forged = bech32_encode("addr_test", convertbits(payload, 8, 5), Encoding.BECH32)
    with pytest.raises(AddressError, match="network id 1 in its header"):
        parse_payment_address(forged, CardanoNetwork.DEVNET)


def test_without_a_known_network_everything_but_the_network_is_checked() -> None:
    assert parse_payment_address(MAINNET_ADDRESS, None).network == Network.MAINNET
    typo = MAINNET_ADDRESS[:-2] + "zz"
    with pytest.raises(AddressError) as raised:
        parse_payment_address(typo, None)
    assert raised.value.problem == CHECKSUM.format(_abbreviate(typo))


def test_admin_is_a_key_hash_or_a_key_address() -> None:
    assert parse_admin_key_hash(bytes(range(28)).hex(), CardanoNetwork.DEVNET) == bytes(range(28))
    assert parse_admin_key_hash(bytes(range(28)).hex().upper(), CardanoNetwork.DEVNET) == bytes(range(28))
    assert parse_admin_key_hash(TESTNET_ADDRESS, CardanoNetwork.PREVIEW) == bytes(range(28))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (SCRIPT_ADDRESS, "pays to a script"),
        (MAINNET_ADDRESS, "is a mainnet address"),
        (STAKE_ADDRESS, "stake (reward) address"),
        ("ab" * 27, "56 hex digits (28 bytes), got 54"),
        ("admin", "payment key hash (56 hex digits) or a key address"),
        (None, "must be a string, got null"),
    ],
)
def test_bad_admins_are_named(value: object, fragment: str) -> None:
    with pytest.raises(AddressError) as raised:
        parse_admin_key_hash(value, CardanoNetwork.DEVNET)
    assert fragment in raised.value.problem


def _vkey_envelope_text(seed: bytes) -> str:
    return PaymentVerificationKey.from_signing_key(PaymentSigningKey(seed)).to_json()


def test_oracle_keys_are_read_from_hex_envelopes_and_files() -> None:
    envelope_text = _vkey_envelope_text(ORACLE_SEED)
    assert parse_oracle_key(ORACLE_KEY.hex()) == ORACLE_KEY
    assert parse_oracle_key(ORACLE_KEY.hex().upper()) == ORACLE_KEY
    assert parse_oracle_key(json.loads(envelope_text)) == ORACLE_KEY
    assert parse_oracle_key(envelope_text) == ORACLE_KEY
    files = {"keys/oracle.vkey": envelope_text}
    assert parse_oracle_key("keys/oracle.vkey", load_key_file=files.__getitem__) == ORACLE_KEY
    assert parse_text_envelope(verification_key_envelope(ORACLE_KEY)) == ORACLE_KEY


def test_an_extended_verification_key_gives_its_ed25519_key() -> None:
    envelope = {
        "type": "PaymentExtendedVerificationKeyShelley_ed25519_bip32",
        "cborHex": "5840" + ORACLE_KEY.hex() + "11" * 32,
    }
    assert parse_oracle_key(envelope) == ORACLE_KEY


def _missing_file(path: str) -> str:
    raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (ORACLE_KEY.hex()[:-1], "64 hex digits (32 bytes), got 63"),
        ("5820" + ORACLE_KEY.hex(), "looks like a cborHex value"),
        (ORACLE_KEY.hex() * 2, "128 hex digits"),
        (bytes(32).hex(), "not a valid ed25519 public key"),
        ("not a key", "neither hex"),
        (12, "got a whole number"),
        (json.loads(PaymentSigningKey(ORACLE_SEED).to_json()), "SIGNING key"),
        (json.loads(StakeSigningKey(ORACLE_SEED).to_json()), "SIGNING key"),
        ({"type": "GenesisVerificationKey_ed25519", "cborHex": "5820" + ORACLE_KEY.hex()}, "not an ed25519"),
        ({"type": "PaymentVerificationKeyShelley_ed25519"}, '"type" and "cborHex"'),
        ({"type": "PaymentVerificationKeyShelley_ed25519", "cborHex": "58zz"}, "not hex"),
        ({"type": "PaymentVerificationKeyShelley_ed25519", "cborHex": "5819" + "00" * 25}, "32-byte string"),
        ({"type": "PaymentVerificationKeyShelley_ed25519", "cborHex": "582000"}, "not valid CBOR"),
        ('{"type": ', "not a JSON key envelope"),
        ("oracle.vkey", "no way to read files"),
    ],
)  # fmt: skip
def test_malformed_oracle_keys_are_named(value: object, fragment: str) -> None:
    with pytest.raises(OracleKeyError) as raised:
        parse_oracle_key(value)
    assert fragment in raised.value.problem


def test_an_unreadable_key_file_is_named_with_the_reason() -> None:
    with pytest.raises(OracleKeyError) as raised:
        parse_oracle_key("oracles/missing.vkey", load_key_file=_missing_file)
    assert 'cannot read key file "oracles/missing.vkey"' in raised.value.problem
    assert "No such file" in raised.value.problem


def test_a_stake_verification_key_is_still_an_ed25519_key() -> None:
    stake = StakeVerificationKey.from_signing_key(StakeSigningKey(ORACLE_SEED))
    assert parse_oracle_key(json.loads(stake.to_json())) == ORACLE_KEY


@pytest.mark.parametrize("cut", [1, 10])
def test_an_address_with_a_valid_checksum_but_missing_bytes_is_refused(cut: int) -> None:
    from pycardano.crypto.bech32 import Encoding, bech32_encode, convertbits

    payload = bytes(Address(KEY_HASH, STAKE_HASH, network=Network.TESTNET).to_primitive())[:-cut]
    truncated = bech32_encode("addr_test", convertbits(payload, 8, 5), Encoding.BECH32)
    with pytest.raises(AddressError) as raised:
        parse_payment_address(truncated, CardanoNetwork.DEVNET)
    assert "copy" in raised.value.hint


def test_whatever_a_key_file_loader_raises_becomes_an_error_of_that_entry() -> None:
    with pytest.raises(OracleKeyError, match='cannot read key file "a/b"'):
        no_files: dict[str, str] = {}
        parse_oracle_key("a/b", load_key_file=no_files.__getitem__)
    with pytest.raises(OracleKeyError, match="not a JSON key envelope"):
        parse_oracle_key("a.vkey", load_key_file=lambda path: "not json")
