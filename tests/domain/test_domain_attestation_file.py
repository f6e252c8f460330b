"""The attestation file read and written exactly: every mistake in a file an oracle hands over is named
(all of them at once), and what `attest sign` writes is the documented JSON. Values are written out here
by hand, not produced by the code under test."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestoned.domain.attestation import OracleSignature, Statement, sign_attestation
from milestoned.domain.attestation_file import (
    Attestation,
    attestation_document,
    attestation_json,
    parse_attestation_document,
    parse_attestation_json,
)
from milestoned.domain.validation_errors import InputProblem

SIGN_AGAIN = "ask the oracle for the file `milestonectl attest sign` wrote, unchanged"
GOOD = {
    "schedule_id": "ab" * 28,
    "milestone_id": "M1",
    "oracle_key": "cd" * 32,
    "signature": "ef" * 64,
}
milestone_ids = st.text(min_size=1, max_size=20).filter(lambda text: len(text.encode()) <= 64)


def problem_of(document: object) -> InputProblem:
    with pytest.raises(InputProblem) as raised:
        parse_attestation_document(document)
    return raised.value


def test_the_file_written_is_the_documented_json() -> None:
    attestation = Attestation(bytes(28), "Meilenstein-ü".encode(), OracleSignature(bytes(32), bytes(64)))
    assert attestation_json(attestation) == (
        "{\n"
        f'  "schedule_id": "{"00" * 28}",\n'
        '  "milestone_id": "Meilenstein-ü",\n'
        f'  "oracle_key": "{"00" * 32}",\n'
        f'  "signature": "{"00" * 64}"\n'
        "}\n"
    )
    cancel = Attestation(bytes(28), b"M2", OracleSignature(bytes(32), bytes(64)), Statement.CANCEL)
    assert json.loads(attestation_json(cancel))["statement"] == "cancel"
    assert parse_attestation_json(attestation_json(cancel)) == cancel


def test_a_good_document_reads_and_extra_fields_are_ignored() -> None:
    read = parse_attestation_document({**GOOD, "comment": "from oracle 1"})
    assert read == Attestation(
        bytes.fromhex("ab" * 28), b"M1", OracleSignature(bytes.fromhex("cd" * 32), bytes.fromhex("ef" * 64))
    )
    # one of a key file's two fields alone is just an extra field
    assert parse_attestation_document({**GOOD, "type": "x"}) == read
    assert parse_attestation_document({**GOOD, "cborHex": "5820"}) == read


def test_text_that_is_not_json_or_not_an_object_is_named() -> None:
    with pytest.raises(InputProblem) as raised:
        parse_attestation_json("{not json")
    assert raised.value.problem.startswith("is not JSON (")
    assert raised.value.hint == SIGN_AGAIN
    assert problem_of(["a"]).problem == "must be a JSON object, got a list"


def test_a_key_file_is_named_as_one() -> None:
    problem = problem_of({"type": "PaymentSigningKeyShelley_ed25519", "cborHex": "5820" + "00" * 32})
    assert problem.problem == "is a cardano-cli key file, not an attestation"
    assert problem.hint == "give the .json file that `milestonectl attest sign` wrote"


def test_every_missing_field_is_named_at_once() -> None:
    problem = problem_of({})
    assert problem.problem == (
        'has no "schedule_id"; has no "oracle_key"; has no "signature"; has no "milestone_id"'
    )
    assert problem.hint == SIGN_AGAIN


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("schedule_id", 12, '"schedule_id" must be 56 hex digits (28 bytes)'),
        ("schedule_id", "zz" * 28, '"schedule_id" must be 56 hex digits (28 bytes)'),
        ("schedule_id", "ab" * 27, '"schedule_id" must be 56 hex digits (28 bytes)'),
        ("oracle_key", "cd" * 33, '"oracle_key" must be 64 hex digits (32 bytes)'),
        ("signature", "ef" * 63, '"signature" must be 128 hex digits (64 bytes)'),
        ("milestone_id", 5, '"milestone_id" must be the milestone identifier as text'),
        ("milestone_id", "", '"milestone_id" must be the milestone identifier as text'),
        ("milestone_id", "m" * 65, '"milestone_id" is longer than 64 bytes'),
        ("milestone_id", None, 'has no "milestone_id"'),
        ("statement", "revoke", '"statement" must be "attest" or "cancel" (absent: "attest"), got "revoke"'),
    ],
)
def test_each_bad_field_is_named(field: str, value: object, message: str) -> None:
    assert problem_of({**GOOD, field: value}).problem == message


def test_a_milestone_of_exactly_64_bytes_is_read() -> None:
    assert parse_attestation_document({**GOOD, "milestone_id": "m" * 64}).milestone_id == b"m" * 64


def test_a_refused_signature_is_false_not_merely_falsy() -> None:
    from milestoned.domain.attestation import verify_attestation

    short_key = OracleSignature(bytes(31), bytes(64))
    assert verify_attestation(short_key, bytes(28), b"M1") is False
    wrong = OracleSignature(bytes.fromhex("cd" * 32), bytes(64))  # a key that is not even a curve point
    assert verify_attestation(wrong, bytes(28), b"M1") is False


@given(
    schedule_id=st.binary(min_size=28, max_size=28),
    milestone=milestone_ids,
    seed=st.binary(min_size=32, max_size=32),
)
def test_file_round_trip(schedule_id: bytes, milestone: str, seed: bytes) -> None:
    attestation = Attestation(
        schedule_id, milestone.encode(), sign_attestation(seed, schedule_id, milestone.encode())
    )
    assert parse_attestation_json(attestation_json(attestation)) == attestation
    assert json.loads(attestation_json(attestation)) == attestation_document(attestation)
