"""Reading an oracle's ed25519 verification key, as hex or as a cardano-cli text envelope.

Oracles make keys with `cardano-cli address key-gen` and hand the admin the `.vkey` file, a JSON
"text envelope" whose `cborHex` is the CBOR byte string of the 32-byte key. The domain reads the
envelope's *content* (a dict, or its JSON text); reading a file from disk is the shell's job, done by a
loader the caller passes in, so this module stays pure.

A key is checked to be a real ed25519 public key (a point of the prime-order subgroup): 32 random
bytes are rarely one, and a schedule committed to a key nobody can sign for could never be released.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

import cbor2
from nacl.bindings import crypto_core_ed25519_is_valid_point

from milestoned.domain.attestation import ORACLE_KEY_BYTES
from milestoned.domain.json_types import json_type_name
from milestoned.domain.validation_errors import InputProblem

# Reads the text of a key file named in a schedule (path as written there); the shell provides it,
# typically resolving relative paths against the schedule file's directory. Whatever it raises (OSError
# for a missing file, typically) is reported as a problem with that oracle entry.
KeyFileLoader = Callable[[str], str]

PAYMENT_VKEY_TYPE = "PaymentVerificationKeyShelley_ed25519"
_PLAIN_VKEY_TYPES = frozenset({PAYMENT_VKEY_TYPE, "StakeVerificationKeyShelley_ed25519"})
# An extended (BIP32) verification key is the ed25519 public key followed by a 32-byte chain code.
_EXTENDED_VKEY_TYPES = frozenset(
    {
        "PaymentExtendedVerificationKeyShelley_ed25519_bip32",
        "StakeExtendedVerificationKeyShelley_ed25519_bip32",
    }
)
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_HEX = re.compile(r"[0-9a-fA-F]*")
KEY_FILE_SUFFIX = ".vkey"
_HOW = (
    'give the key as 64 hex digits, as the content of a cardano-cli .vkey file ({"type": '
    f'"{PAYMENT_VKEY_TYPE}", "cborHex": "5820…"}}), or as the path of that .vkey file'
)


class OracleKeyError(InputProblem):
    """A value that is not an oracle's ed25519 verification key."""


def parse_oracle_key(value: object, *, load_key_file: KeyFileLoader | None = None) -> bytes:
    """The 32-byte ed25519 verification key `value` denotes.

    `value` is 64 hex digits, a text envelope (dict or its JSON text), or a path ending in `.vkey`,
    which needs `load_key_file` to read it.
    """
    if isinstance(value, Mapping):
        return parse_text_envelope(value)
    if not isinstance(value, str):
        raise OracleKeyError(f"must be a key, got {json_type_name(value)}", _HOW)
    text = value.strip()
    if _HEX_KEY.fullmatch(text):
        return _checked_point(bytes.fromhex(text))
    if text.startswith("{"):
        return parse_text_envelope(_json_object(text, "is"))
    if text.endswith(KEY_FILE_SUFFIX) or "/" in text:
        return _load_key_file(text, load_key_file)
    if _HEX.fullmatch(text):
        if len(text) == 128:
            raise OracleKeyError(
                "has 128 hex digits: that is an extended key or a signature, not a 32-byte verification key",
                "give the oracle's 64-hex ed25519 verification key (never a signing key)",
            )
        if len(text) == 68 and text.lower().startswith("5820"):
            raise OracleKeyError(
                "looks like a cborHex value (5820 followed by the key)",
                f"drop the leading 5820, or give the whole envelope: {_HOW}",
            )
        raise OracleKeyError(
            f"an ed25519 verification key has 64 hex digits (32 bytes), got {len(text)} digits", _HOW
        )
    raise OracleKeyError("is neither hex, a .vkey envelope nor a .vkey file path", _HOW)


def parse_text_envelope(envelope: Mapping[str, object]) -> bytes:
    """The verification key inside a cardano-cli text envelope (the parsed content of a `.vkey` file)."""
    key_type = envelope.get("type")
    cbor_hex = envelope.get("cborHex")
    if not isinstance(key_type, str) or not isinstance(cbor_hex, str):
        raise OracleKeyError(
            'a key envelope needs string fields "type" and "cborHex"',
            f"give the whole content of the oracle's .vkey file; {_HOW}",
        )
    if "SigningKey" in key_type:
        raise OracleKeyError(
            f"is a SIGNING key ({key_type}): a secret that must never be shared or put in a schedule",
            "give the oracle's .vkey (verification key) instead; if this signing key was shared, "
            "treat it as compromised and make a new one",
        )
    if key_type not in _PLAIN_VKEY_TYPES | _EXTENDED_VKEY_TYPES:
        raise OracleKeyError(
            f'has type "{key_type}", which is not an ed25519 verification key',
            f'use a payment verification key ("{PAYMENT_VKEY_TYPE}")',
        )
    if not _HEX.fullmatch(cbor_hex) or len(cbor_hex) % 2:
        raise OracleKeyError('its "cborHex" is not hex', "copy the .vkey file unchanged")
    try:
        payload = cbor2.loads(bytes.fromhex(cbor_hex))
    except (cbor2.CBORDecodeError, ValueError) as error:
        raise OracleKeyError(
            f'its "cborHex" is not valid CBOR ({error})', "copy the .vkey file unchanged"
        ) from None
    expected = ORACLE_KEY_BYTES * 2 if key_type in _EXTENDED_VKEY_TYPES else ORACLE_KEY_BYTES
    if not isinstance(payload, bytes) or len(payload) != expected:
        raise OracleKeyError(
            f'its "cborHex" must hold a {expected}-byte string for type {key_type}',
            "copy the .vkey file unchanged",
        )
    return _checked_point(payload[:ORACLE_KEY_BYTES])


def verification_key_envelope(key: bytes, description: str = "Payment Verification Key") -> dict[str, str]:
    """The cardano-cli text envelope of an ed25519 verification key: what a `.vkey` file holds."""
    if len(key) != ORACLE_KEY_BYTES:
        raise ValueError(f"an ed25519 verification key has {ORACLE_KEY_BYTES} bytes, got {len(key)}")
    return {"type": PAYMENT_VKEY_TYPE, "description": description, "cborHex": cbor2.dumps(key).hex()}


def _load_key_file(path: str, load_key_file: KeyFileLoader | None) -> bytes:
    if load_key_file is None:
        raise OracleKeyError(
            f'"{path}" is a key file path, but this reader was given no way to read files',
            "validate the schedule with milestonectl, which reads .vkey files, or paste the file's content",
        )
    try:
        content = load_key_file(path)
    except (
        Exception
    ) as error:  # a caller's hook: whatever it raises is a problem with this entry, not a crash
        raise OracleKeyError(
            f'cannot read key file "{path}": {error}',
            "check the path; relative paths are read from the schedule file's directory",
        ) from None
    return parse_text_envelope(_json_object(content, f'key file "{path}" is'))


def _json_object(text: str, what: str) -> Mapping[str, object]:
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise OracleKeyError(f"{what} not a JSON key envelope ({error})", _HOW) from None
    if not isinstance(parsed, dict):
        raise OracleKeyError(f"{what} JSON but not an object", _HOW)
    return parsed


def _checked_point(key: bytes) -> bytes:
    if not crypto_core_ed25519_is_valid_point(key):
        raise OracleKeyError(
            f"{key.hex()} is not a valid ed25519 public key (not a point of the curve's main subgroup)",
            "copy the oracle's verification key again; a typo turns a key into random bytes",
        )
    return key
