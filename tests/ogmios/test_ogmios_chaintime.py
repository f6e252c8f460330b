"""Slot/time conversion over a mainnet-like hard-fork history (Byron 20 s slots, then 1 s slots)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestoned.ogmios.chaintime import slot_to_time, time_to_slot
from milestoned.ogmios.parsing import parse_era_summaries, parse_start_time

START = parse_start_time("2017-09-23T21:44:51Z")
# Mainnet's first two eras as Ogmios reports them; the Shelley-based era is left unbounded here.
SUMMARIES = parse_era_summaries(
    [
        {
            "start": {"time": {"seconds": 0}, "slot": 0, "epoch": 0},
            "end": {"time": {"seconds": 89856000}, "slot": 4492800, "epoch": 208},
            "parameters": {"epochLength": 21600, "slotLength": {"milliseconds": 20000}, "safeZone": 4320},
        },
        {
            "start": {"time": {"seconds": 89856000}, "slot": 4492800, "epoch": 208},
            "parameters": {"epochLength": 432000, "slotLength": {"milliseconds": 1000}, "safeZone": 129600},
        },
    ]
)


def test_known_mainnet_slots() -> None:
    assert slot_to_time(0, SUMMARIES, START) == START
    assert slot_to_time(4492800, SUMMARIES, START) == datetime(2020, 7, 29, 21, 44, 51, tzinfo=UTC)
    # The well-known mainnet rule after Byron: POSIX seconds = 1591566291 + slot.
    expected = datetime.fromtimestamp(1591566291 + 100_000_000, tz=UTC)
    assert expected == datetime(2023, 8, 9, 7, 31, 31, tzinfo=UTC)
    assert slot_to_time(100_000_000, SUMMARIES, START) == expected
    assert time_to_slot(expected, SUMMARIES, START) == 100_000_000


@given(st.integers(0, 200_000_000))
def test_time_to_slot_inverts_slot_to_time(slot: int) -> None:
    moment = slot_to_time(slot, SUMMARIES, START)
    assert time_to_slot(moment, SUMMARIES, START) == slot
    assert time_to_slot(moment + timedelta(milliseconds=999), SUMMARIES, START) == slot


def test_outside_the_known_eras_is_a_clear_error() -> None:
    bounded = SUMMARIES[:1]
    with pytest.raises(ValueError, match="outside the eras the node knows"):
        slot_to_time(5_000_000, bounded, START)
    with pytest.raises(ValueError, match="before the network started"):
        time_to_slot(START - timedelta(days=1), SUMMARIES, START)
    with pytest.raises(ValueError, match="timezone-aware"):
        time_to_slot(datetime(2024, 1, 1), SUMMARIES, START)
