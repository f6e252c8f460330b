"""What the follower must remember between blocks, folded from the event log. No I/O.

Why a fold of the log and nothing else: the log is the single source of truth, so after a restart (or a
`kill -9`) the follower rebuilds exactly this state by reading the log from the start, and it can never
disagree with what it wrote. The state is:
- the known schedules (from `ScheduleRegistered`, and `ScheduleDiscovered` with the slot it was found at,
  so that a rollback below it forgets it): whose auth tokens the filter looks for;
- the registration parts seen on chain (`RegistrationPartSeen`) of schedules not registered here, by
  slot, from which discovery assembles a registration split over several blocks;
- the allocation UTxOs still open, with the slot each was locked and spent at, so that a rollback to slot
  `s` forgets the locks above `s` and reopens the allocations spent above `s`;
- the newest chain point written (`written`), which says whether a rollback has anything to undo, and
  the last `lookback` distinct points on the current chain, newest last, from which restarts and
  reconnects draw their `findIntersection` candidates without re-reading the log;
- the log position folded so far, so that events appended by others (new schedules) are picked up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReassigned,
    AllocationReclaimed,
    AllocationReleased,
    ChainEvent,
    ChainPoint,
    Event,
    RegistrationPartSeen,
    RolledBack,
    ScheduleDiscovered,
    SchedulePolicy,
    ScheduleRegistered,
)

PRUNE_EVERY = 64
"""Forget old spent allocations every this many points that leave `recent_points`."""


@dataclass(slots=True)
class FollowerState:
    """The follower's memory; change it only through `apply` (one event) or `apply_all`."""

    schedules: dict[str, SchedulePolicy] = field(default_factory=dict)
    open_allocations: dict[str, str] = field(default_factory=dict)
    """Unspent allocation out-ref → schedule id: what the filter needs to recognise a spend."""
    beneficiaries: dict[str, str] = field(default_factory=dict)
    """Allocation out-ref → beneficiary (bech32), for every allocation in `_locked_at`: the old
    beneficiary a move (`AllocationReassigned`) names."""
    written: ChainPoint | None = None
    """The newest point on the current chain that the log has an event at (None: nothing yet)."""
    position: int = 0
    """Log position of the last event folded in."""
    lookback: int = 2160
    """How many recent points to keep (k, the deepest rollback the node can ask for, on mainnet)."""
    recent_points: deque[ChainPoint] = field(default_factory=deque)
    """Distinct points of the current chain the log has events at, oldest first, at most `lookback`."""
    _locked_at: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Every allocation ever locked on the current chain: out-ref → (schedule id, slot)."""
    _spent_at: dict[str, int] = field(default_factory=dict)
    """Allocations spent on the current chain: out-ref → slot of the spend."""
    _dropped_points: int = 0
    registration_parts: dict[str, dict[int, RegistrationPartSeen]] = field(default_factory=dict)
    """Schedule id → first allocation → the part seen on chain (schedules not registered here)."""
    _discovered_at: dict[str, int] = field(default_factory=dict)
    """Schedules known from the chain alone: schedule id → slot of the block that completed them."""

    def apply(self, event: Event) -> None:
        """Fold one event in (events of other kinds, e.g. oracle signatures, change nothing here)."""
        if isinstance(event, ScheduleRegistered):
            self.schedules[event.schedule_id] = event.policy
            self._discovered_at.pop(event.schedule_id, None)  # registered here: no rollback forgets it
            return
        if not isinstance(event, ChainEvent):
            return
        if isinstance(event, RolledBack):
            self._roll_back(event.point.slot)
        elif isinstance(event, RegistrationPartSeen):
            first = int(event.part["allocations"][0])
            self.registration_parts.setdefault(event.schedule_id, {})[first] = event
        elif isinstance(event, ScheduleDiscovered):
            if event.schedule_id not in self.schedules:
                self.schedules[event.schedule_id] = event.policy
                self._discovered_at[event.schedule_id] = event.point.slot
        elif isinstance(event, AllocationLocked):
            self._locked_at[event.out_ref] = (event.schedule_id, event.point.slot)
            self.beneficiaries[event.out_ref] = event.beneficiary
            if event.out_ref not in self._spent_at:
                self.open_allocations[event.out_ref] = event.schedule_id
        elif isinstance(event, AllocationReleased | AllocationReclaimed | AllocationReassigned):
            self._spent_at[event.out_ref] = event.point.slot
            self.open_allocations.pop(event.out_ref, None)
        self.written = event.point
        points = self.recent_points
        if not points or points[-1] != event.point:
            points.append(event.point)
            if len(points) > self.lookback:
                points.popleft()
                self._dropped_points += 1
                if self._dropped_points % PRUNE_EVERY == 0:
                    self._forget_spent_before(points[0].slot)

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def _forget_spent_before(self, slot: int) -> None:
        """Allocations spent below the oldest point we would ever intersect at cannot come back: a
        rollback never goes below it. Forgetting them keeps memory bounded on a long-running daemon."""
        for out_ref in [ref for ref, spent in self._spent_at.items() if spent < slot]:
            del self._spent_at[out_ref]
            self._locked_at.pop(out_ref, None)
            self.beneficiaries.pop(out_ref, None)
        for sid in [s for s in self.registration_parts if self._discovered_at.get(s, slot) < slot]:
            del self.registration_parts[sid]  # completed below any rollback: its parts are done with

    def _roll_back(self, slot: int) -> None:
        while self.recent_points and self.recent_points[-1].slot > slot:
            self.recent_points.pop()
        for sid in [s for s, found in self._discovered_at.items() if found > slot]:
            del self._discovered_at[sid]
            del self.schedules[sid]
        for sid, parts in list(self.registration_parts.items()):
            for first in [f for f, part in parts.items() if part.point.slot > slot]:
                del parts[first]
            if not parts:
                del self.registration_parts[sid]
        for out_ref in [ref for ref, (_, locked) in self._locked_at.items() if locked > slot]:
            del self._locked_at[out_ref]
            self.beneficiaries.pop(out_ref, None)
            self.open_allocations.pop(out_ref, None)
        for out_ref in [ref for ref, spent in self._spent_at.items() if spent > slot]:
            del self._spent_at[out_ref]
            locked = self._locked_at.get(out_ref)
            if locked is not None:
                self.open_allocations[out_ref] = locked[0]
