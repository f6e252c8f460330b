"""Parsing details the vectors do not pin down: ratios, bad input, and the typed helpers."""

from __future__ import annotations

from fractions import Fraction

import pytest

from milestoned.ogmios.errors import (
    OgmiosProtocolError,
    SubmissionError,
    UnknownOutputReferences,
    error_from_json,
)
from milestoned.ogmios.model import ORIGIN, OutputReference, Point, Value
from milestoned.ogmios.parsing import (
    parse_next_block,
    parse_point_or_origin,
    parse_ratio,
    parse_start_time,
    parse_transaction,
    parse_value,
)


def test_ratios_are_exact_fractions() -> None:
    assert parse_ratio("44/1") == 44
    assert parse_ratio("-1/3") == Fraction(-1, 3)
    assert parse_ratio("577/10000") == Fraction(577, 10000)
    with pytest.raises(OgmiosProtocolError, match="expected a ratio"):
        parse_ratio(None)


def test_values_round_trip_and_report_quantities() -> None:
    raw = {"ada": {"lovelace": 0}, "aa" * 28: {"": 3, "cafe": 7}}
    value = parse_value(raw)
    assert value == Value(0, {"aa" * 28: {"": 3, "cafe": 7}})
    assert value.quantity("aa" * 28, "cafe") == 7 and value.quantity("bb" * 28) == 0
    assert value.to_json() == raw


def test_missing_required_field_says_what_and_where() -> None:
    with pytest.raises(OgmiosProtocolError, match=r"cannot read a transaction .*'spends'"):
        parse_transaction({"id": "ab" * 32, "inputs": []})
    with pytest.raises(OgmiosProtocolError, match="unknown nextBlock direction 'sideways'"):
        parse_next_block({"direction": "sideways"})


def test_start_time_needs_utc_and_keeps_fractions() -> None:
    assert parse_start_time("2022-10-25T00:00:00Z").isoformat() == "2022-10-25T00:00:00+00:00"
    assert parse_start_time("1864-05-08T01:04:16.594696334754Z").microsecond == 594696
    with pytest.raises(OgmiosProtocolError, match="expected a UTC time"):
        parse_start_time("2022-10-25T00:00:00+02:00")


def test_points_and_origin() -> None:
    assert parse_point_or_origin("origin") == ORIGIN
    assert parse_point_or_origin({"slot": 0, "id": "00" * 32}) == Point(0, "00" * 32)
    with pytest.raises(OgmiosProtocolError, match="cannot read a point"):
        parse_point_or_origin({"slot": 1})


def test_error_lookup_and_double_spend_details() -> None:
    error = error_from_json(
        {
            "code": 3117,
            "message": "unknown output references",
            "data": {"unknownOutputReferences": [{"transaction": {"id": "cd" * 32}, "index": 1}]},
        },
        "submitTransaction",
    )
    assert isinstance(error, UnknownOutputReferences) and isinstance(error, SubmissionError)
    assert error.references == (OutputReference("cd" * 32, 1),)
    assert "3117 UnknownOutputReferences (in submitTransaction)" in str(error)
    odd = error_from_json({"code": 3999, "message": "new in a later Ogmios"})
    assert isinstance(odd, SubmissionError) and odd.name == "Unknown<3999>"
    assert error_from_json("garbage").code == -32603
