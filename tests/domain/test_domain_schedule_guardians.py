"""Guardians in the schedule file (issue 15): how they are written, checked, and kept out of old documents."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from nacl.signing import SigningKey
from pycardano import Address, Network, VerificationKeyHash

from milestoned.domain.oracle_keys import verification_key_envelope
from milestoned.domain.schedule_canonical import canonical_schedule_json, schedule_to_json
from milestoned.domain.schedule_file import parse_schedule_document, parse_schedule_json, schedule_errors
from milestoned.domain.schedule_guardians import verification_key_hash

GUARDIAN_VKEYS = [bytes(SigningKey(bytes([40 + n]) * 32).verify_key) for n in range(3)]
GUARDIANS = [verification_key_hash(key) for key in GUARDIAN_VKEYS]
SEED = "5e" * 32 + "#1"


def _address(n: int) -> str:
    return str(Address(VerificationKeyHash(bytes([n]) * 28), network=Network.TESTNET))


def document(**extra: Any) -> dict[str, Any]:
    return {
        "network": "devnet",
        "admin": "ab" * 28,
        "token": {"token_policy_id": "cd" * 28, "token_name": "4d494c45"},
        "oracles": [bytes(SigningKey(bytes([n]) * 32).verify_key).hex() for n in (1, 2)],
        "quorum_threshold": 1,
        "reclaim_deadline": "2028-01-01T00:00:00Z",
        "beneficiary_allocations": [
            {
                "beneficiary_address": _address(1),
                "token_amount": 100,
                "milestone_identifier": "M1",
                "vesting_timestamp": "2027-01-01T00:00:00Z",
            }
        ],
        **extra,
    }


def test_a_schedule_without_guardians_keeps_its_canonical_json_and_nonce() -> None:
    """Golden values computed before guardians existed: old schedules keep their documents and nonces."""
    definition = parse_schedule_document(document())
    assert definition.guardian_keys == () and definition.guardian_threshold == 0
    assert not definition.has_guardians
    assert definition.nonce.hex() == "37db7bb1bec501b96faa0531cdc76c09"
    digest = hashlib.blake2b(canonical_schedule_json(definition), digest_size=32).hexdigest()
    assert digest == "c0b661f1f02810cabaa71b1115235a52eef8117d1db0f7ef57d25ecab769bbfd"
    assert b"guardian" not in canonical_schedule_json(definition)


def test_guardians_in_every_spelling_read_as_key_hashes_and_enter_the_parameters() -> None:
    spellings = [
        GUARDIANS[0].hex().upper(),
        _address_of(GUARDIANS[1]),
        verification_key_envelope(GUARDIAN_VKEYS[2]),
    ]
    seed = ("5E" * 32) + "#1"  # any case, written back in lowercase
    definition = parse_schedule_document(document(guardians=spellings, guardian_threshold=2, state_seed=seed))
    assert definition.guardian_keys == tuple(GUARDIANS)
    assert definition.guardian_threshold == 2
    assert definition.guardian_seed == (bytes([0x5E]) * 32, 1)
    parameters = definition.to_parameters()
    assert parameters.guardian_keys == tuple(GUARDIANS) and parameters.guardian_threshold == 2
    assert parameters.guardian_seed == (bytes([0x5E]) * 32, 1)
    canonical = json.loads(canonical_schedule_json(definition))
    assert canonical["guardians"] == [key.hex() for key in GUARDIANS]
    assert canonical["guardian_threshold"] == 2
    assert canonical["state_seed"] == SEED
    # the canonical text reads back to the same definition (what discovery from the chain does)
    assert parse_schedule_json(canonical_schedule_json(definition)) == definition
    assert parse_schedule_json(schedule_to_json(definition)) == definition


def test_guardians_and_the_state_seed_change_the_derived_nonce() -> None:
    without = parse_schedule_document(document())
    with_one = parse_schedule_document(
        document(guardians=[GUARDIANS[0].hex()], guardian_threshold=1, state_seed=SEED)
    )
    with_other = parse_schedule_document(
        document(guardians=[GUARDIANS[1].hex()], guardian_threshold=1, state_seed=SEED)
    )
    other_seed = parse_schedule_document(
        document(guardians=[GUARDIANS[0].hex()], guardian_threshold=1, state_seed="5e" * 32 + "#2")
    )
    assert len({without.nonce, with_one.nonce, with_other.nonce, other_seed.nonce}) == 4


def _address_of(key_hash: bytes) -> str:
    return str(Address(VerificationKeyHash(key_hash), network=Network.TESTNET))


@pytest.mark.parametrize(
    ("extra", "path", "fragment"),
    [
        ({"guardian_threshold": 1}, "guardians", '"guardian_threshold" is given'),
        ({"guardians": [GUARDIANS[0].hex()], "state_seed": SEED}, "guardian_threshold", '"guardians" are'),
        ({"guardians": [GUARDIANS[0].hex()], "guardian_threshold": 1}, "state_seed", "is missing"),
        ({"state_seed": SEED}, "state_seed", "no guardians"),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": 1, "state_seed": "ab" * 32},
            "state_seed",
            "transaction id>#<output index>",
        ),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": 1, "state_seed": "ab" * 32 + "#70000"},
            "state_seed",
            "above the ledger",
        ),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": 1, "state_seed": 7},
            "state_seed",
            "got a whole number",
        ),
        ({"guardians": [], "guardian_threshold": 1, "state_seed": SEED}, "guardians", "is empty"),
        (
            {"guardians": GUARDIANS[0].hex(), "guardian_threshold": 1, "state_seed": SEED},
            "guardians",
            "must be a list",
        ),
        (
            {"guardians": [GUARDIANS[0].hex(), "zz"], "guardian_threshold": 1, "state_seed": SEED},
            "guardians[1]",
            "",
        ),
        (
            {
                "guardians": [GUARDIANS[0].hex(), _address_of(GUARDIANS[0])],
                "guardian_threshold": 1,
                "state_seed": SEED,
            },
            "guardians[1]",
            "same key as guardians[0]",
        ),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": 0, "state_seed": SEED},
            "guardian_threshold",
            "at least 1",
        ),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": 2, "state_seed": SEED},
            "guardian_threshold",
            "only 1 guardian",
        ),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": "1", "state_seed": SEED},
            "guardian_threshold",
            "whole number",
        ),
        (
            {"guardians": [GUARDIANS[0].hex()], "guardian_threshold": True, "state_seed": SEED},
            "guardian_threshold",
            "whole number",
        ),
    ],
)
def test_bad_guardians_get_one_error_naming_the_field(
    extra: dict[str, Any], path: str, fragment: str
) -> None:
    errors = schedule_errors(document(**extra))
    assert [e.path for e in errors] == [path], errors
    assert fragment in errors[0].message
    assert errors[0].hint


def test_a_misspelt_guardian_field_is_named_with_a_suggestion() -> None:
    errors = schedule_errors(document(guardian_keys=[GUARDIANS[0].hex()]))
    assert [e.path for e in errors] == ["guardian_keys"]
    assert '"guardians"' in errors[0].hint


def test_one_guardian_with_a_threshold_of_one_guards_the_schedule() -> None:
    """The smallest guarded schedule: one guardian who alone may pause it has a state UTxO to read."""
    one = parse_schedule_document(
        document(guardians=[GUARDIANS[0].hex()], guardian_threshold=1, state_seed=SEED)
    )
    assert (one.guardian_threshold, one.has_guardians) == (1, True)
    two = parse_schedule_document(
        document(guardians=[key.hex() for key in GUARDIANS[:2]], guardian_threshold=2, state_seed=SEED)
    )
    assert two.has_guardians
