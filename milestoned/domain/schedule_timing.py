"""What a schedule's times mean at a given instant: vesting times already past, a reclaim deadline past.

WHY: a schedule whose times are years in the past is valid (every field is well-formed) but almost always
a mistake: a copied example, a wrong year, seconds read as milliseconds. Vesting times in the past only
make allocations claimable at once (a warning); a reclaim deadline in the past lets the admin take every
allocation back the moment it is locked, so registering one is refused unless the admin insists.
Pure: the instant is an argument (the caller's clock or the chain's), nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.timestamps import format_timestamp


@dataclass(frozen=True, slots=True)
class TimingNotes:
    now_ms: int
    past_vesting: tuple[int, ...]
    """Indexes (from 0, file order) of the allocations whose vesting time is before `now_ms`."""
    earliest_past_vesting_ms: int | None
    reclaim_deadline_ms: int

    @property
    def reclaim_deadline_past(self) -> bool:
        return self.reclaim_deadline_ms <= self.now_ms

    def warnings(self) -> list[str]:
        """Sentences for people, one per finding (empty when the times are all in the future)."""
        notes: list[str] = []
        if self.past_vesting:
            assert self.earliest_past_vesting_ms is not None
            notes.append(
                f"{len(self.past_vesting)} allocation(s) vest in the past (the earliest at "
                f"{format_timestamp(self.earliest_past_vesting_ms)}; "
                f"now is {format_timestamp(self.now_ms)}): "
                "they become claimable as soon as their milestone reaches its quorum. Check the year and "
                "that the times are not seconds read as milliseconds"
            )
        if self.reclaim_deadline_past:
            notes.append(
                f"the reclaim deadline {format_timestamp(self.reclaim_deadline_ms)} is already past: the "
                "admin could reclaim every allocation as soon as it is locked. Registration refuses it "
                "unless --force is given"
            )
        return notes


def timing_notes(definition: ScheduleDefinition, now_ms: int) -> TimingNotes:
    past = tuple(
        index
        for index, allocation in enumerate(definition.allocations)
        if allocation.vesting_time_ms < now_ms
    )
    earliest = min((definition.allocations[i].vesting_time_ms for i in past), default=None)
    return TimingNotes(now_ms, past, earliest, definition.reclaim_deadline_ms)
