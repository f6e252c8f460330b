"""The oracle attestation: the exact bytes an oracle signs to say a milestone is complete.

The message binds the schedule id (the schedule's minting policy id) as well as the milestone, so a
signature made for one schedule can never be counted for another, even when the milestone ids match.
The on-chain policy rebuilds the same bytes and checks them with `verify_ed25519_signature`; the
off-chain code checks them first only to give a clear error early.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

ATTESTATION_PREFIX = b"milestoned/attest/v1"
SCHEDULE_ID_BYTES = 28
ORACLE_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def attestation_message(schedule_id: bytes, milestone_id: bytes) -> bytes:
    """`b"milestoned/attest/v1" || schedule_id || milestone_id`, as in DESIGN.md §3."""
    if len(schedule_id) != SCHEDULE_ID_BYTES:
        raise ValueError(f"schedule id must be {SCHEDULE_ID_BYTES} bytes, got {len(schedule_id)}")
    return ATTESTATION_PREFIX + schedule_id + milestone_id


@dataclass(frozen=True)
class OracleSignature:
    """One oracle's ed25519 signature over one milestone's attestation message."""

    oracle_key: bytes
    signature: bytes


def sign_attestation(signing_key_seed: bytes, schedule_id: bytes, milestone_id: bytes) -> OracleSignature:
    """Sign as an oracle whose ed25519 secret seed is `signing_key_seed` (32 bytes)."""
    key = SigningKey(signing_key_seed)
    signed = key.sign(attestation_message(schedule_id, milestone_id))
    return OracleSignature(oracle_key=bytes(key.verify_key), signature=signed.signature)


def verify_attestation(signature: OracleSignature, schedule_id: bytes, milestone_id: bytes) -> bool:
    """True when `signature` is the oracle's valid signature of this schedule's milestone."""
    if len(signature.oracle_key) != ORACLE_KEY_BYTES or len(signature.signature) != SIGNATURE_BYTES:
        return False
    try:
        VerifyKey(signature.oracle_key).verify(
            attestation_message(schedule_id, milestone_id), signature.signature
        )
    except (BadSignatureError, ValueError):
        return False
    return True
