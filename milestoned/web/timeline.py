"""A schedule's unlock timeline: cumulative amounts over chain time (pure).

Four series, each a step function of time t (POSIX ms):
- locked: still held at the validator at t (locked by t, minus released and reclaimed by t);
- vested: allocations whose vesting time is at or before t;
- claimable: of those, the ones that nothing but time holds back now: open, their milestone verified and not
  cancelled, their schedule not paused (what could be released at t with today's signatures and today's
  pause: the chain records when a signature arrived only for releases);
- released: released by t (a release's time is its block's slot on the chain clock).
After "now" nothing is known of future releases, so locked and released stay at their value now.

A 10,000-allocation schedule may have as many distinct vesting times; the chart keeps at most
`MAX_POINTS` of them (the first, the last, "now", and evenly spaced ones between), so a page stays small.
The points kept are exact values, not interpolated ones.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from milestoned.domain.eligibility import AllocationStatus
from milestoned.projections.readmodels import ClaimableAllocation, ExitFact
from milestoned.projections.slots import SlotConfig

MAX_POINTS = 80
WAITING_FOR_TIME = frozenset({AllocationStatus.CLAIMABLE, AllocationStatus.VESTING_NOT_PASSED})
"""The statuses of an allocation that only its vesting time keeps from being claimable (the precedence in
`domain.eligibility` puts every other reason, a pause among them, before the vesting time)."""


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    time_ms: int
    locked: int
    vested: int
    claimable: int
    released: int
    vesting_mark: bool
    """An allocation vests exactly at this time."""


@dataclass(frozen=True, slots=True)
class Timeline:
    points: tuple[TimelinePoint, ...]
    now_ms: int | None
    reclaim_deadline_ms: int
    total: int
    vesting_times: int
    """How many distinct vesting times there are (points may show fewer)."""


def _cumulative(events: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    times: list[int] = []
    sums: list[int] = []
    running = 0
    for time_ms, amount in sorted(events):
        running += amount
        if times and times[-1] == time_ms:
            sums[-1] = running
        else:
            times.append(time_ms)
            sums.append(running)
    return times, sums


def _at(times: list[int], sums: list[int], t: int) -> int:
    index = bisect.bisect_right(times, t)
    return sums[index - 1] if index else 0


def build_timeline(
    allocations: Iterable[ClaimableAllocation],
    releases: Mapping[str, ExitFact],
    reclaims: Mapping[str, ExitFact],
    lock_slots: Mapping[str, int],
    slots: SlotConfig | None,
    now_ms: int | None,
    reclaim_deadline_ms: int,
) -> Timeline:
    rows = list(allocations)

    def slot_time(slot: int) -> int:
        # without a slot clock, chain facts are placed at "now" (or the origin of the chart)
        if slots is not None:
            return slots.slot_to_posix_ms(slot)
        return now_ms if now_ms is not None else 0

    vest_times, vest_sums = _cumulative([(a.vesting_time_ms, a.amount) for a in rows])
    claim_times, claim_sums = _cumulative(
        [(a.vesting_time_ms, a.amount) for a in rows if a.status in WAITING_FOR_TIME]
    )
    locked_events = [(slot_time(lock_slots.get(a.out_ref, 0)), a.amount) for a in rows]
    exits = [(slot_time(releases[a.out_ref].slot), -a.amount) for a in rows if a.out_ref in releases]
    exits += [(slot_time(reclaims[a.out_ref].slot), -a.amount) for a in rows if a.out_ref in reclaims]
    lock_times, lock_sums = _cumulative(locked_events + exits)
    rel_times, rel_sums = _cumulative(
        [(slot_time(releases[a.out_ref].slot), a.amount) for a in rows if a.out_ref in releases]
    )
    marks = set(vest_times)
    candidates = sorted(marks | set(rel_times) | ({now_ms} if now_ms is not None else set()))
    kept = _thin(candidates, now_ms)
    points = tuple(
        TimelinePoint(
            time_ms=t,
            locked=_at(lock_times, lock_sums, t),
            vested=_at(vest_times, vest_sums, t),
            claimable=_at(claim_times, claim_sums, t),
            released=_at(rel_times, rel_sums, t),
            vesting_mark=t in marks,
        )
        for t in kept
    )
    return Timeline(
        points=points,
        now_ms=now_ms,
        reclaim_deadline_ms=reclaim_deadline_ms,
        total=sum(a.amount for a in rows),
        vesting_times=len(vest_times),
    )


def _thin(times: list[int], now_ms: int | None) -> list[int]:
    if len(times) <= MAX_POINTS:
        return times
    step = (len(times) - 1) / (MAX_POINTS - 2)
    kept = {times[round(i * step)] for i in range(MAX_POINTS - 1)} | {times[-1]}
    if now_ms is not None:
        kept.add(now_ms)
    return sorted(kept)
