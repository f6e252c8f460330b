"""Times at their edges: tests for mutants of `domain/timestamps.py` that survived (issue 19).

Each limit (1970, the year 9999, the millisecond) is tried on both sides, and each refusal is matched by
its problem and hint.
"""

from __future__ import annotations

import pytest

from milestoned.domain.timestamps import (
    LATEST_POSIX_SECONDS,
    TimestampError,
    format_timestamp,
    parse_timestamp,
)

FORMS = 'write ISO 8601 with a zone, e.g. "2027-03-01T12:00:00Z", or whole POSIX seconds, e.g. 1803902400'


def refusal(value: object) -> tuple[str, str]:
    with pytest.raises(TimestampError) as refused:
        parse_timestamp(value)
    return refused.value.problem, refused.value.hint


def test_posix_seconds_at_their_limits() -> None:
    assert LATEST_POSIX_SECONDS == 253_402_300_799
    assert parse_timestamp(0) == 0
    assert parse_timestamp(1) == 1_000
    assert parse_timestamp(LATEST_POSIX_SECONDS) == LATEST_POSIX_SECONDS * 1_000
    assert refusal(-1) == ("must not be before 1970, got POSIX seconds -1", FORMS)
    # one second past the limit reads as milliseconds (of 1978), which is what such a number usually is
    assert refusal(LATEST_POSIX_SECONDS + 1)[0] == (
        f"{LATEST_POSIX_SECONDS + 1} is past the year 9999 as POSIX seconds; it looks like milliseconds"
    )


def test_milliseconds_given_as_seconds_are_recognised() -> None:
    ms = 1_803_902_400_000
    assert refusal(ms) == (
        f"{ms} is past the year 9999 as POSIX seconds; it looks like milliseconds",
        "this field takes seconds: write 1803902400",
    )
    assert (
        refusal(ms + 250)[1]
        == "this field takes seconds: divide by 1000, or use ISO 8601 for sub-second times"
    )
    largest = LATEST_POSIX_SECONDS * 1_000 + 999
    assert refusal(largest)[0].endswith("it looks like milliseconds")
    assert refusal(largest + 1) == (f"{largest + 1} is past the year 9999", FORMS)


def test_other_json_values_are_refused_by_kind() -> None:
    assert refusal(True) == ("must be a time, got the boolean true", FORMS)
    assert refusal(False) == ("must be a time, got the boolean false", FORMS)
    assert refusal(1.5)[0] == "must be whole POSIX seconds, got the fractional number 1.5"
    assert refusal(None)[1] == FORMS
    assert refusal(" 1803902400 ") == (
        '" 1803902400 " is a number inside a string',
        "write POSIX seconds as a JSON number without quotes: 1803902400",
    )


def test_iso_times_at_their_limits() -> None:
    assert parse_timestamp("1970-01-01T00:00:00Z") == 0
    assert parse_timestamp("1970-01-01T00:00:00.001Z") == 1
    assert parse_timestamp("1970-01-01T01:00:00+01:00") == 0
    assert parse_timestamp("9999-12-31T23:59:59.999Z") == LATEST_POSIX_SECONDS * 1_000 + 999
    assert refusal("1969-12-31T23:59:59.999Z") == ('"1969-12-31T23:59:59.999Z" is before 1970', FORMS)
    assert refusal("9999-12-31T23:59:59.999-00:01") == (
        '"9999-12-31T23:59:59.999-00:01" is past the year 9999 in UTC',
        FORMS,
    )


def test_iso_times_need_a_zone_and_at_most_milliseconds() -> None:
    assert refusal("2027-03-01T12:00:00") == (
        '"2027-03-01T12:00:00" has no time zone, so it names a different instant in every zone',
        'add a zone: "2027-03-01T12:00:00Z" for UTC, or an offset such as "2027-03-01T12:00:00+02:00"',
    )
    assert refusal("2027-03-01 12:00:00")[1].startswith('add a zone: "2027-03-01 12:00:00Z"')
    assert refusal("2027-03-01")[1] == 'add a time and a zone: "2027-03-01T00:00:00Z"'
    assert refusal("2027-03-01T12:00:00.0001Z")[0] == (
        '"2027-03-01T12:00:00.0001Z" is more precise than a millisecond, the chain\'s unit'
    )
    assert parse_timestamp("2027-03-01T12:00:00.001000Z") % 1_000 == 1
    assert refusal("soon")[0].startswith('"soon" is not an ISO 8601 time (')


def test_the_canonical_text_shows_milliseconds_only_when_there_are_some() -> None:
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"
    assert format_timestamp(1) == "1970-01-01T00:00:00.001Z"
    assert format_timestamp(999) == "1970-01-01T00:00:00.999Z"
    assert format_timestamp(1_000) == "1970-01-01T00:00:01Z"
    assert format_timestamp(1_803_902_400_250) == "2027-03-01T12:00:00.250Z"
