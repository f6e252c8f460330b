"""Times: ISO 8601 with a zone or POSIX seconds in, POSIX milliseconds out, one canonical spelling back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestoned.domain.timestamps import (
    LATEST_POSIX_SECONDS,
    TimestampError,
    format_timestamp,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected_ms"),
    [
        ("2027-03-01T12:00:00Z", 1_803_902_400_000),
        ("2027-03-01T14:00:00+02:00", 1_803_902_400_000),
        ("2027-03-01T07:00:00-05:00", 1_803_902_400_000),
        ("2027-03-01T12:00:00.250Z", 1_803_902_400_250),
        ("2027-03-01 12:00:00Z", 1_803_902_400_000),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_iso_with_a_zone_is_read_as_that_instant(text: str, expected_ms: int) -> None:
    assert parse_timestamp(text) == expected_ms


def test_posix_seconds_become_milliseconds() -> None:
    assert parse_timestamp(1_803_902_400) == 1_803_902_400_000
    assert parse_timestamp(0) == 0


@pytest.mark.parametrize(
    ("value", "fragment", "hint_fragment"),
    [
        ("2027-03-01T12:00:00", "has no time zone", '"2027-03-01T12:00:00Z"'),
        ("2027-03-01", "has no time zone", '"2027-03-01T00:00:00Z"'),
        ("next tuesday", "is not an ISO 8601 time", "ISO 8601 with a zone"),
        ("2027-02-30T00:00:00Z", "is not an ISO 8601 time", "ISO 8601"),
        ("2027-03-01T12:00:00.0001Z", "more precise than a millisecond", "three digits"),
        ("1803902400", "is a number inside a string", "without quotes: 1803902400"),
        (1_803_902_400_000, "looks like milliseconds", "write 1803902400"),
        (1_803_902_400_123, "looks like milliseconds", "divide by 1000"),
        (10**20, "past the year 9999", "ISO 8601"),
        (-1, "before 1970", "POSIX seconds"),
        ("1969-12-31T23:59:59Z", "before 1970", "POSIX seconds"),
        (1.5, "fractional number", "drop the fraction"),
        (True, "boolean", "ISO 8601"),
        (None, "got null", "ISO 8601"),
        ([2027], "got a list", "ISO 8601"),
    ],
)
def test_unreadable_times_say_what_is_wrong_and_how_to_write_them(
    value: object, fragment: str, hint_fragment: str
) -> None:
    with pytest.raises(TimestampError) as raised:
        parse_timestamp(value)
    assert fragment in raised.value.problem
    assert hint_fragment in raised.value.hint


def test_canonical_spelling_is_utc_with_milliseconds_only_when_needed() -> None:
    assert format_timestamp(1_803_902_400_000) == "2027-03-01T12:00:00Z"
    assert format_timestamp(1_803_902_400_007) == "2027-03-01T12:00:00.007Z"


@settings(max_examples=150)
@given(st.integers(min_value=0, max_value=LATEST_POSIX_SECONDS * 1000 + 999))
def test_canonical_spelling_reads_back_to_the_same_instant(posix_ms: int) -> None:
    assert parse_timestamp(format_timestamp(posix_ms)) == posix_ms


@settings(max_examples=100)
@given(
    st.integers(min_value=0, max_value=LATEST_POSIX_SECONDS - 86_400),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_the_same_instant_in_any_zone_reads_the_same(seconds: int, offset_minutes: int) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime.fromtimestamp(seconds, tz=UTC).astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert parse_timestamp(moment.isoformat()) == parse_timestamp(seconds) == seconds * 1000
