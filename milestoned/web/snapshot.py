"""One consistent picture of the daemon's state, frozen, for the pages to read (no I/O here).

Why a snapshot: every number on a page (and in its JSON) comes from ONE read of the projection facts,
through the same pure read models the socket's queries use (`claimable_allocations`, `milestone_states`),
so a page never mixes two moments and agrees with `milestonectl --json` at the same log position. It is
built once per (log, projection) position and shared by every request until something changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from milestoned.eventlog.events import SchedulePolicy
from milestoned.projections.readmodels import (
    ClaimableAllocation,
    ExitFact,
    Facts,
    MilestoneState,
    Submission,
    claimable_allocations,
    milestone_states,
)
from milestoned.projections.slots import SlotConfig


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    schedule_id: str
    definition: Mapping[str, Any]
    policy: SchedulePolicy
    source: str
    """"registered here" or "discovered on chain"."""
    registered_at: str | None
    """The chain point (SLOT.HASH) of its first registration transaction, when seen."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """One recent event of the log, as the activity page lists it."""

    position: int
    topic: str
    hash: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    events_checked: int
    head_position: int
    summary: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: str
    """Changes whenever anything shown could: the validator of every page (its ETag)."""
    network: str
    schedules: tuple[ScheduleInfo, ...]
    facts: Facts
    submissions: tuple[Submission, ...]
    in_flight: frozenset[str]
    log_position: int
    log_hash: str
    recent: tuple[LogLine, ...]
    verification: Verification | None
    slots: SlotConfig | None
    live: bool = True
    """False in an offline report (no live updates, no links that need the daemon)."""
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Per-schedule figures computed once per snapshot (`viewmodels.warm` fills it off the event loop)."""
    index: SnapshotIndex = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", SnapshotIndex.build(self))


@dataclass(frozen=True, slots=True)
class SnapshotIndex:
    """The read models computed once per snapshot, and the look-ups every page needs."""

    allocations: tuple[ClaimableAllocation, ...]
    milestones: tuple[MilestoneState, ...]
    by_schedule: Mapping[str, tuple[ClaimableAllocation, ...]]
    by_beneficiary: Mapping[str, tuple[ClaimableAllocation, ...]]
    schedules: Mapping[str, ScheduleInfo]
    releases: Mapping[str, ExitFact]
    reclaims: Mapping[str, ExitFact]
    lock_slots: Mapping[str, int]

    @classmethod
    def build(cls, snapshot: Snapshot) -> SnapshotIndex:
        allocations = tuple(claimable_allocations(snapshot.facts))
        by_schedule: dict[str, list[ClaimableAllocation]] = defaultdict(list)
        by_beneficiary: dict[str, list[ClaimableAllocation]] = defaultdict(list)
        for allocation in allocations:
            by_schedule[allocation.schedule_id].append(allocation)
            by_beneficiary[allocation.beneficiary].append(allocation)
        return cls(
            allocations=allocations,
            milestones=tuple(milestone_states(snapshot.facts)),
            by_schedule={k: tuple(v) for k, v in by_schedule.items()},
            by_beneficiary={k: tuple(v) for k, v in by_beneficiary.items()},
            schedules={s.schedule_id: s for s in snapshot.schedules},
            releases={e.out_ref: e for e in snapshot.facts.releases},
            reclaims={e.out_ref: e for e in snapshot.facts.reclaims},
            lock_slots={lock.out_ref: lock.slot for lock in snapshot.facts.locks},
        )

    def chain_time_ms(self, slot: int, slots: SlotConfig | None) -> int | None:
        return None if slots is None else slots.slot_to_posix_ms(slot)
