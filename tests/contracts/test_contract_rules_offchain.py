"""The rules registration enforces on chain (issue 11.4) are refused off chain first, field by field.

A schedule file is read before anything is built or submitted: a repeated oracle key, a quorum above
the number of oracles and a beneficiary no wallet can spend from each come back as an error naming the
field. For the beneficiary addresses both sides are asked about the same address: what the reader
accepts, the compiled policy registers, and what it refuses, the policy refuses too.
"""

from __future__ import annotations

from typing import Any

import pytest
from nacl.signing import SigningKey
from pycardano import Address, Network, PointerAddress, VerificationKeyHash
from pycardano.crypto.bech32 import Encoding, bech32_encode, convertbits

from milestoned.contracts import attacks
from milestoned.contracts import scenarios as sc
from milestoned.domain.addresses import POINTER_INDEX_MAX, POINTER_SLOT_MAX
from milestoned.domain.schedule_file import schedule_errors
from milestoned.domain.validation_errors import FieldError

from .conftest import Evaluate

ORACLES = [bytes(SigningKey(bytes([n]) * 32).verify_key).hex() for n in (1, 2, 3)]
KEY = VerificationKeyHash(bytes([7]) * 28)


def document(**changes: Any) -> dict[str, Any]:
    allocation = {
        "beneficiary_address": str(Address(KEY, network=Network.TESTNET)),
        "token_amount": 100,
        "milestone_identifier": "M1",
        "vesting_timestamp": "2027-01-01T00:00:00Z",
    }
    base: dict[str, Any] = {
        "network": "devnet",
        "admin": (bytes([9]) * 28).hex(),
        "token": {"token_policy_id": sc.TOKEN_POLICY_ID.hex(), "token_name": "4d494c45"},
        "oracles": ORACLES,
        "quorum_threshold": 2,
        "reclaim_deadline": "2028-01-01T00:00:00Z",
        "beneficiary_allocations": [allocation],
    }
    address = changes.pop("beneficiary_address", None)
    if address is not None:
        allocation["beneficiary_address"] = address
    return {**base, **changes}


def only_error(doc: dict[str, Any]) -> FieldError:
    errors = schedule_errors(doc)
    assert len(errors) == 1, errors
    return errors[0]


def test_the_base_document_is_valid() -> None:
    assert schedule_errors(document()) == ()


def test_a_repeated_oracle_key_is_refused_at_its_index() -> None:
    error = only_error(document(oracles=[ORACLES[0], ORACLES[1], ORACLES[0]]))
    assert error.path == "oracles[2]"
    assert error.message == "is the same key as oracles[0]"


def test_a_quorum_above_the_number_of_oracles_is_refused() -> None:
    error = only_error(document(quorum_threshold=4))
    assert error.path == "quorum_threshold"
    assert error.message.startswith("is 4 but there are only 3 oracles")


@pytest.mark.parametrize("length", [27, 29])
def test_a_beneficiary_credential_that_is_not_28_bytes_is_refused(length: int) -> None:
    payload = bytes([0x60]) + bytes([7]) * length  # enterprise key address, testnet
    text = bech32_encode("addr_test", convertbits(payload, 8, 5), Encoding.BECH32)
    error = only_error(document(beneficiary_address=text))
    assert error.path == "beneficiary_allocations[0].beneficiary_address"
    assert f"Invalid byte size: {length}" in error.message


POINTERS = [
    ((0, 0, 0), True),
    ((POINTER_SLOT_MAX, POINTER_INDEX_MAX, POINTER_INDEX_MAX), True),
    ((POINTER_SLOT_MAX + 1, 0, 0), False),
    ((0, POINTER_INDEX_MAX + 1, 0), False),
    ((0, 0, POINTER_INDEX_MAX + 1), False),
]


@pytest.mark.parametrize(("pointer", "spendable"), POINTERS, ids=lambda v: str(v))
def test_the_reader_and_the_policy_agree_on_pointer_addresses(
    pointer: tuple[int, int, int], spendable: bool, schedule: sc.Schedule, evaluate: Evaluate
) -> None:
    address = Address(KEY, PointerAddress(*pointer), network=Network.TESTNET)
    errors = schedule_errors(document(beneficiary_address=str(address)))
    if spendable:
        assert errors == ()
    else:
        assert [(e.path, "is out of range" in e.message) for e in errors] == [
            ("beneficiary_allocations[0].beneficiary_address", True)
        ]
    evaluations = evaluate(f"register pointer {pointer}", sc.register_tx(schedule, [attacks.alloc(address)]))
    if spendable:
        assert all(e.ok for e in evaluations)
    else:
        assert [(e.ok, e.logs) for e in evaluations] == [(False, ("beneficiary pointer out of range",))]
