"""What a cardano-cli key file holds, read from its text: a signing key's seed or a verification key.

Oracles make their keys with `cardano-cli address key-gen`: the `.skey` is a JSON "text envelope" of
type `PaymentSigningKeyShelley_ed25519` whose `cborHex` is `5820` followed by the 32-byte ed25519 seed.
This module is pure (text in, bytes out) so the rules are tested without files; reading the file and
checking its permissions is `keyfiles`' job.

Messages never include the key material: an error about a signing key may end up in a terminal
scroll-back, a CI log or a bug report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

import cbor2
from nacl.signing import SigningKey

from milestoned.domain.oracle_keys import parse_text_envelope
from milestoned.domain.validation_errors import InputProblem

SIGNING_KEY_TYPE = "PaymentSigningKeyShelley_ed25519"
SEED_BYTES = 32
_SEED_CBOR_PREFIX = "5820"  # CBOR: a byte string of 32 bytes
_MAKE_KEY = "make an oracle key with `cardano-cli address key-gen --signing-key-file oracle.skey "
_MAKE_KEY += "--verification-key-file oracle.vkey`"


class KeyKind(StrEnum):
    SIGNING = "signing key"
    VERIFICATION = "verification key"


@dataclass(frozen=True)
class KeyEnvelope:
    """A key file's content once checked: its kind, its envelope type and the ed25519 public key."""

    kind: KeyKind
    envelope_type: str
    verification_key: bytes


def read_envelope_json(text: str) -> dict[str, object]:
    """The JSON object of a text envelope; `InputProblem` when the text is not one."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InputProblem(
            "is not a cardano-cli key file: its content is not JSON",
            f'a key file is a JSON text envelope with "type" and "cborHex"; {_MAKE_KEY}',
        ) from None
    if not isinstance(document, dict):
        raise InputProblem("is not a cardano-cli key file: its JSON is not an object", _MAKE_KEY)
    return document


def signing_key_seed(text: str) -> bytes:
    """The 32-byte ed25519 seed inside the text of an oracle's `.skey` file."""
    envelope = read_envelope_json(text)
    key_type = envelope.get("type")
    cbor_hex = envelope.get("cborHex")
    if not isinstance(key_type, str) or not isinstance(cbor_hex, str):
        raise InputProblem('is not a key envelope: it needs string fields "type" and "cborHex"', _MAKE_KEY)
    check_signing_key_type(key_type)
    return _seed(cbor_hex)


def check_signing_key_type(key_type: str) -> None:
    """`InputProblem` unless `key_type` is the envelope type of a plain ed25519 payment signing key."""
    if "VerificationKey" in key_type:
        raise InputProblem(
            f"is a verification key ({key_type}), which cannot sign",
            "give the matching .skey (signing key) file with --key",
        )
    if "Extended" in key_type:
        raise InputProblem(
            f"is an extended (BIP32) signing key ({key_type}); attestations are signed with plain "
            "ed25519 keys, whose public key is the one listed in the schedule",
            _MAKE_KEY,
        )
    if key_type != SIGNING_KEY_TYPE:
        raise InputProblem(f'has type "{key_type}", not "{SIGNING_KEY_TYPE}"', _MAKE_KEY)


def _seed(cbor_hex: str) -> bytes:
    broken = InputProblem(
        f'its "cborHex" is not {_SEED_CBOR_PREFIX} followed by a 32-byte key (64 hex digits)',
        "the file was altered: restore it from your backup (never paste a signing key anywhere to repair it)",
    )
    text = cbor_hex.strip().lower()
    if len(text) != len(_SEED_CBOR_PREFIX) + 2 * SEED_BYTES or not text.startswith(_SEED_CBOR_PREFIX):
        raise broken
    try:
        seed = cbor2.loads(bytes.fromhex(text))
    except (ValueError, cbor2.CBORDecodeError):
        raise broken from None
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise broken
    return seed


def inspect_envelope(text: str) -> KeyEnvelope:
    """Which key a key file holds and its public key; `InputProblem` names what is wrong with it."""
    envelope = read_envelope_json(text)
    key_type = envelope.get("type")
    if isinstance(key_type, str) and "SigningKey" in key_type:
        seed = signing_key_seed(text)
        return KeyEnvelope(KeyKind.SIGNING, key_type, bytes(SigningKey(seed).verify_key))
    verification_key = parse_text_envelope(envelope)
    return KeyEnvelope(KeyKind.VERIFICATION, str(key_type), verification_key)
