"""Recipients CSV: exact round trips, exact share splits, and every problem at its row and column."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_canonical import schedule_document
from milestoned.domain.schedule_csv import recipients_csv, recipients_document, split_by_shares
from milestoned.domain.schedule_file import parse_schedule_document

from .test_domain_schedule_properties import definitions

ADDRESS = "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70"
OTHER = "addr_test1vqezrnllkmn2pyctpkhzvzkv6y0sxfptxj9058mtkv5ts2cga2992"


def _base(definition: ScheduleDefinition) -> dict[str, Any]:
    document = schedule_document(definition)
    document.pop("beneficiary_allocations")
    return document


def _devnet_base() -> dict[str, Any]:
    return {
        "network": "devnet",
        "admin": "c80adcbfd4229f031d96f3f03709a0441b9b879499108efd19f23ca6",
        "token": {"token_policy_id": "67" * 28, "token_name_utf8": "MILE"},
        "oracles": ["c80adcbfd4229f031d96f3f03709a0441b9b879499108efd19f23ca61e0a8bc0"],
        "quorum_threshold": 1,
        "reclaim_deadline": "2030-01-01T00:00:00Z",
    }


def _problems(text: str, **kwargs: Any) -> list[tuple[str, str]]:
    reading = recipients_document(text, _devnet_base(), **kwargs)
    assert reading.document is None
    return [(error.path, error.message) for error in reading.errors]


@settings(max_examples=40, deadline=None)
@given(definitions())
def test_csv_round_trip_is_exact(definition: ScheduleDefinition) -> None:
    """schedule -> CSV -> schedule gives the same allocations, and CSV -> schedule -> CSV the same text."""
    text = recipients_csv(definition)
    reading = recipients_document(text, _base(definition))
    assert reading.errors == ()
    assert reading.document is not None
    again = parse_schedule_document(reading.document)
    assert again.allocations == definition.allocations
    assert replace(again, nonce=definition.nonce) == definition
    assert recipients_csv(again) == text


@settings(max_examples=200)
@given(
    st.integers(1, 10**15),
    st.lists(st.integers(1, 10_000), min_size=1, max_size=30),
)
def test_share_split_sums_to_the_total_and_stays_within_one_unit(total: int, weights: list[int]) -> None:
    # weights -> percentages summing to exactly 100 (the last one takes the rounding)
    whole = sum(weights)
    shares = [Decimal(w * 100) / Decimal(whole) for w in weights]
    shares = [share.quantize(Decimal("0.0001")) for share in shares[:-1]]
    shares.append(Decimal(100) - sum(shares, Decimal(0)))
    if shares[-1] <= 0:
        return
    parts = split_by_shares(total, dict(enumerate(shares)))
    assert sum(parts.values()) == total
    for key, share in enumerate(shares):
        exact = Decimal(total) * share / Decimal(100)
        assert abs(Decimal(parts[key]) - exact) < 1


def test_share_split_gives_leftover_units_to_the_largest_remainders_then_earliest_rows() -> None:
    assert split_by_shares(10, {1: Decimal("33.3"), 2: Decimal("33.4"), 3: Decimal("33.3")}) == {
        1: 3,
        2: 4,
        3: 3,
    }
    assert split_by_shares(2, {5: Decimal(50), 6: Decimal(50)}) == {5: 1, 6: 1}
    assert split_by_shares(1, {5: Decimal(50), 6: Decimal(50)}) == {5: 1, 6: 0}


def test_a_share_csv_becomes_amounts_of_the_total() -> None:
    text = (
        "Address,Share,Milestone,Vesting\n"
        f"{ADDRESS},12.5%,M1,2027-01-01T00:00:00Z\n"
        f"{OTHER},87.5,M1,1800000000\n"
    )
    reading = recipients_document(text, _devnet_base(), total_amount=1000)
    assert reading.errors == ()
    assert reading.document is not None
    rows = reading.document["beneficiary_allocations"]
    assert [row["token_amount"] for row in rows] == [125, 875]
    assert rows[1]["vesting_timestamp"] == 1800000000  # digits mean POSIX seconds, as in JSON


def test_every_problem_is_named_by_row_and_column_at_once() -> None:
    text = (
        "beneficiary_address,token_amount,milestone_identifier,vesting_timestamp\n"
        f"{ADDRESS},100,M1,2027-01-01T00:00:00Z\n"
        "addr_test1xyz,100,M1,2027-01-01T00:00:00Z\n"
        f"{ADDRESS},-5,M1,2027-02-01T00:00:00Z\n"
        f"{OTHER},1.5,M1,2027-01-01T00:00:00Z\n"
        "\n"
        f"{OTHER},7,,someday\n"
        f"{ADDRESS},100,M1,2027-01-01T00:00:00Z\n"
    )
    problems = _problems(text)
    paths = [path for path, _ in problems]
    assert paths == [
        "row 3, column 1 (beneficiary_address)",
        "row 4, column 2 (token_amount)",
        "row 5, column 2 (token_amount)",
        "row 7, column 3 (milestone_identifier)",
        "row 7, column 4 (vesting_timestamp)",
        "row 8",
    ]
    assert "negative" in problems[1][1]
    assert '"1.5" is not a whole number' in problems[2][1]
    assert problems[5][1].startswith("is an exact copy of row 2")


def test_header_problems_are_named() -> None:
    assert _problems(f"address,amount,milestone\n{ADDRESS},1,M1\n") == [
        ("row 1", "has no vesting_timestamp column")
    ]
    assert _problems("address,amount,share,milestone,vesting,colour\n") == [
        ("row 1, column 6", '"colour" is not a recipients column'),
        ("row 1", "has both token_amount and share"),
    ]
    assert _problems("address,address,amount,milestone,vesting\n")[0] == (
        "row 1, column 2",
        "names beneficiary_address a second time",
    )
    assert _problems("") == [("row 1", "is empty: the first row must name the columns")]
    assert _problems("address,amount,milestone,vesting\n\n") == [
        ("row 2", "is missing: the file has no recipients")
    ]


def test_shares_must_sum_to_100_and_need_a_total() -> None:
    text = f"address,share,milestone,vesting\n{ADDRESS},60,M1,1800000000\n{OTHER},30,M1,1800000000\n"
    assert _problems(text, total_amount=100) == [("column 2 (share)", "sums to 90, not 100")]
    assert _problems(text)[0][0] == "total"
    assert _problems(text.replace(",30,", ",abc,"), total_amount=100) == [
        ("row 3, column 2 (share)", '"abc" is not a positive percentage')
    ]


def test_problems_of_the_base_are_named_as_the_base() -> None:
    base = {**_devnet_base(), "quorum_threshold": 5}
    reading = recipients_document(
        f"address,amount,milestone,vesting\n{ADDRESS},1,M1,1800000000\n", base, base_name="base.json"
    )
    assert [error.path for error in reading.errors] == ["base.json: quorum_threshold"]


@pytest.mark.parametrize("line", ['"unterminated,1,M1,1800000000\n'])
def test_broken_quoting_is_reported_not_raised(line: str) -> None:
    problems = _problems("address,amount,milestone,vesting\n" + line)
    assert problems and all(path.startswith("row") for path, _ in problems)


def test_written_csv_is_plain_rfc4180_with_one_header() -> None:
    reading = recipients_document(
        'address,amount,milestone,vesting\n"' + ADDRESS + '",5,"M1, phase ""a""",1800000000\n', _devnet_base()
    )
    assert reading.document is not None
    definition = parse_schedule_document(reading.document)
    rows = list(csv.reader(io.StringIO(recipients_csv(definition))))
    assert rows[0] == ["beneficiary_address", "token_amount", "milestone_identifier", "vesting_timestamp"]
    assert rows[1][2] == 'M1, phase "a"'
