"""Slots ↔ wall-clock time from the era summaries and the network start time. Pure functions.

Why here: "vesting has passed by chain time" and transaction validity intervals both need this, and the
only correct source is the node's hard-fork history (`queryLedgerState/eraSummaries`) plus
`queryNetwork/startTime`: slot lengths differ between eras (Byron 20 s, Shelley onwards 1 s), so
`slot × 1 s` is wrong on mainnet. Era `start.time` is relative to the network start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from milestoned.ogmios.state_queries import EraSummary


def _era_of_slot(slot: int, summaries: Sequence[EraSummary]) -> EraSummary:
    for era in summaries:
        if era.contains_slot(slot):
            return era
    known = (
        f"{summaries[0].start.slot}…{summaries[-1].end.slot if summaries[-1].end else '∞'}"
        if summaries
        else "none"
    )
    raise ValueError(
        f"slot {slot} is outside the eras the node knows (slots {known}); it is beyond the forecast horizon "
        "or the era summaries are stale — query eraSummaries again"
    )


def slot_to_time(slot: int, summaries: Sequence[EraSummary], start_time: datetime) -> datetime:
    """The UTC time at which `slot` begins."""
    era = _era_of_slot(slot, summaries)
    ms = era.start.time_seconds * 1000 + (slot - era.start.slot) * era.slot_length_ms
    return start_time + timedelta(milliseconds=float(ms))


def time_to_slot(moment: datetime, summaries: Sequence[EraSummary], start_time: datetime) -> int:
    """The slot in progress at `moment` (rounded down), for validity intervals and "has it passed" checks."""
    if moment.tzinfo is None:
        raise ValueError("time_to_slot needs a timezone-aware datetime (use datetime.now(UTC))")
    elapsed = moment - start_time
    elapsed_ms = (
        Fraction(elapsed.days * 86_400_000)
        + Fraction(elapsed.seconds * 1000)
        + Fraction(elapsed.microseconds, 1000)
    )
    for era in summaries:
        begin_ms = era.start.time_seconds * 1000
        end_ms = None if era.end is None else era.end.time_seconds * 1000
        if elapsed_ms >= begin_ms and (end_ms is None or elapsed_ms < end_ms):
            return era.start.slot + int((elapsed_ms - begin_ms) // era.slot_length_ms)
    raise ValueError(
        f"{moment.isoformat()} is outside the eras the node knows; it is before the network started or "
        "beyond the forecast horizon — query eraSummaries again"
    )
