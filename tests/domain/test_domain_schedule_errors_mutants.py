"""The schedule validation error's text: tests for domain mutants that survived (issue 19)."""

from __future__ import annotations

import pytest

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
