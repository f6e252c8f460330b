"""What an oracle signs about a milestone: that it is delivered (an attestation) or that it never will
be (a cancellation, issue 15), as the exact bytes of the signed message.

The message binds the schedule id (the schedule's minting policy id) as well as the milestone, so a
signature made for one schedule can never be counted for another, even when the milestone ids match;
and it starts with the statement's own prefix, so an attestation can never be presented as a
cancellation nor the reverse. The on-chain policy rebuilds the same bytes and checks them with
`verify_ed25519_signature`; the off-chain code checks them first only to give a clear error early.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

ATTESTATION_PREFIX = b"milestoned/attest/v1"
CANCELLATION_PREFIX = b"milestoned/cancel/v1"
SCHEDULE_ID_BYTES = 28
ORACLE_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class Statement(Enum):
    """What an oracle's signature says of a milestone; the value is its message's prefix."""

    ATTEST = ATTESTATION_PREFIX
    """The milestone is delivered: its allocations may be released (once vested)."""
    CANCEL = CANCELLATION_PREFIX
    """The milestone will never be delivered: the admin may take its allocations back at once."""

    @property
    def word(self) -> str:
        """How files and commands name it: "attest" or "cancel"."""
        return self.name.lower()


def statement_message(statement: Statement, schedule_id: bytes, milestone_id: bytes) -> bytes:
    """`prefix || schedule_id || milestone_id`: `b"milestoned/attest/v1"` (DESIGN.md §3) or
    `b"milestoned/cancel/v1"` (issue 15)."""
    if len(schedule_id) != SCHEDULE_ID_BYTES:
        raise ValueError(f"schedule id must be {SCHEDULE_ID_BYTES} bytes, got {len(schedule_id)}")
    return statement.value + schedule_id + milestone_id


def attestation_message(schedule_id: bytes, milestone_id: bytes) -> bytes:
    """`b"milestoned/attest/v1" || schedule_id || milestone_id`, as in DESIGN.md §3."""
    return statement_message(Statement.ATTEST, schedule_id, milestone_id)


@dataclass(frozen=True)
class OracleSignature:
    """One oracle's ed25519 signature over one milestone's attestation message."""

    oracle_key: bytes
    signature: bytes


def sign_attestation(
    signing_key_seed: bytes,
    schedule_id: bytes,
    milestone_id: bytes,
    statement: Statement = Statement.ATTEST,
) -> OracleSignature:
    """Sign `statement` as an oracle whose ed25519 secret seed is `signing_key_seed` (32 bytes)."""
    key = SigningKey(signing_key_seed)
    signed = key.sign(statement_message(statement, schedule_id, milestone_id))
    return OracleSignature(oracle_key=bytes(key.verify_key), signature=signed.signature)


def verify_attestation(
    signature: OracleSignature,
    schedule_id: bytes,
    milestone_id: bytes,
    statement: Statement = Statement.ATTEST,
) -> bool:
    """True when `signature` is the oracle's valid signature of `statement` on this schedule's milestone."""
    if len(signature.oracle_key) != ORACLE_KEY_BYTES or len(signature.signature) != SIGNATURE_BYTES:
        return False
    try:
        VerifyKey(signature.oracle_key).verify(
            statement_message(statement, schedule_id, milestone_id), signature.signature
        )
    except (BadSignatureError, ValueError):
        return False
    return True
