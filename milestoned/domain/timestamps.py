"""Points in time as the chain sees them: POSIX milliseconds.

Plutus validity ranges and our datums count time in POSIX milliseconds, so every time the domain holds
is an `int` of milliseconds. People write times differently, so a schedule file may give either an
ISO 8601 string *with* a zone (a time without a zone means a different instant in every time zone, and
an admin in Tokyo and an auditor in Lisbon must read the same instant) or whole POSIX seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from milestoned.domain.json_types import json_type_name
from milestoned.domain.validation_errors import InputProblem

MS_PER_SECOND = 1000
# datetime cannot go past the year 9999, and no vesting schedule needs to.
LATEST_POSIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TimestampError(InputProblem):
    """A time that cannot be read."""


_FORMS = 'write ISO 8601 with a zone, e.g. "2027-03-01T12:00:00Z", or whole POSIX seconds, e.g. 1803902400'


def parse_timestamp(value: object) -> int:
    """POSIX milliseconds from a JSON value: an ISO 8601 string with a zone, or an int of POSIX seconds.

    Raises `TimestampError` naming the problem; never guesses a zone or a unit.
    """
    if isinstance(value, bool):
        raise TimestampError(f"must be a time, got the boolean {str(value).lower()}", _FORMS)
    if isinstance(value, int):
        return _posix_seconds_to_ms(value)
    if isinstance(value, float):
        raise TimestampError(
            f"must be whole POSIX seconds, got the fractional number {value!r}",
            "drop the fraction, or use ISO 8601 for sub-second times, e.g. 2027-03-01T12:00:00.250Z",
        )
    if isinstance(value, str):
        return _iso_to_ms(value)
    raise TimestampError(f"must be a time, got {json_type_name(value)}", _FORMS)


def _posix_seconds_to_ms(seconds: int) -> int:
    if seconds < 0:
        raise TimestampError(f"must not be before 1970, got POSIX seconds {seconds}", _FORMS)
    if seconds > LATEST_POSIX_SECONDS:
        if seconds // MS_PER_SECOND <= LATEST_POSIX_SECONDS:
            raise TimestampError(
                f"{seconds} is past the year 9999 as POSIX seconds; it looks like milliseconds",
                f"this field takes seconds: write {seconds // MS_PER_SECOND}"
                if seconds % MS_PER_SECOND == 0
                else "this field takes seconds: divide by 1000, or use ISO 8601 for sub-second times",
            )
        raise TimestampError(f"{seconds} is past the year 9999", _FORMS)
    return seconds * MS_PER_SECOND


def _iso_to_ms(text: str) -> int:
    stripped = text.strip()
    if stripped.isdigit():
        raise TimestampError(
            f'"{text}" is a number inside a string',
            f"write POSIX seconds as a JSON number without quotes: {int(stripped)}",
        )
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError as error:
        raise TimestampError(f'"{text}" is not an ISO 8601 time ({error})', _FORMS) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimestampError(
            f'"{text}" has no time zone, so it names a different instant in every zone',
            f'add a zone: "{stripped}Z" for UTC, or an offset such as "{stripped}+02:00"'
            if "T" in stripped or " " in stripped
            else f'add a time and a zone: "{stripped}T00:00:00Z"',
        )
    if moment.microsecond % MS_PER_SECOND != 0:
        raise TimestampError(
            f'"{text}" is more precise than a millisecond, the chain\'s unit',
            "use at most three digits after the decimal point of the seconds",
        )
    delta = moment - _EPOCH
    if delta < timedelta(0):
        raise TimestampError(f'"{text}" is before 1970', _FORMS)
    posix_ms = delta // timedelta(milliseconds=1)
    if posix_ms > LATEST_POSIX_SECONDS * MS_PER_SECOND + 999:
        raise TimestampError(f'"{text}" is past the year 9999 in UTC', _FORMS)
    return posix_ms


def format_timestamp(posix_ms: int) -> str:
    """The canonical text of a time: UTC, `YYYY-MM-DDTHH:MM:SSZ`, with `.fff` only when ms are not 0.

    One fixed spelling per instant, so the canonical JSON (and the nonce derived from it) does not depend
    on how the admin happened to write the time.
    """
    moment = _EPOCH + timedelta(milliseconds=posix_ms)
    millis = posix_ms % MS_PER_SECOND
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"
