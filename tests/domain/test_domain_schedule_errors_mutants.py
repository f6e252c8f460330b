"""The schedule validation error's text: tests for domain mutants that survived (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from milestoned.domain.schedule_canonical import schedule_to_json
from milestoned.domain.schedule_file import parse_schedule_document
from milestoned.domain.validation_errors import FieldError, ScheduleValidationError

FOOTER = (
    "Paths count list entries from 0, so beneficiary_allocations[3] is the fourth allocation. "
    "Fix them all and validate again; see docs/schedule-format.md."
)


def test_the_error_lists_every_field_error_with_its_fix() -> None:
    error = ScheduleValidationError(
        (FieldError("quorum_threshold", "must be at least 1", "write 1"), FieldError("", "x"))
    )
    text = (
        "the schedule has 2 errors:\n"
        "  - quorum_threshold: must be at least 1\n      fix: write 1\n"
        "  - (document): x\n" + FOOTER
    )
    assert str(error) == text
    assert error.args == (text,)  # what a traceback or a log record of the exception shows
    assert error.paths == ("quorum_threshold", "")


def test_one_error_is_counted_in_the_singular() -> None:
    assert str(ScheduleValidationError((FieldError("a", "b"),))).startswith(
        "the schedule has 1 error:\n  - a: b\n"
    )
    with pytest.raises(ValueError, match="needs at least one FieldError"):
        ScheduleValidationError(())


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "schedule.json").read_text())
    document["oracles"] = [bytes(SigningKey(bytes([n]) * 32).verify_key).hex() for n in (1, 2, 3)]
    return document


def errors(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ScheduleValidationError) as refused:
        parse_schedule_document(document)
    return [(e.path, e.message, e.hint) for e in refused.value.errors]


@pytest.mark.parametrize(
    ("digits", "hint"),
    [
        (54, "copy the whole policy id"),
        (
            58,
            "this looks like policy id + asset name together: put the first 56 digits here and the rest "
            "in token_name",
        ),
    ],
)
def test_a_policy_id_of_the_wrong_length_gets_the_hint_for_its_side(digits: int, hint: str) -> None:
    document = example()
    document["token"]["token_policy_id"] = "ab" * (digits // 2)
    assert errors(document) == [
        ("token.token_policy_id", f"a policy id has 56 hex digits (28 bytes), got {digits}", hint)
    ]


def test_a_float_quorum_beyond_2_to_the_64_is_not_offered_as_a_whole_number() -> None:
    document = example()
    document["quorum_threshold"] = 2.0**64
    [(path, message, hint)] = errors(document)
    assert (path, message) == (
        "quorum_threshold",
        f"must be a whole number of oracle signatures, got {2.0**64!r}",
    )
    assert hint != "write 18446744073709551616, without a decimal point or exponent"
    document["quorum_threshold"] = 2.0
    assert errors(document) == [
        (
            "quorum_threshold",
            "must be a whole number of oracle signatures, got 2.0",
            "write 2, without a decimal point or exponent",
        )
    ]


def test_the_readable_file_is_indented_by_two_spaces() -> None:
    text = schedule_to_json(parse_schedule_document(example()))
    assert text.splitlines()[:2] == ["{", '  "network": "devnet",']
