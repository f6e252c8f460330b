"""The chain audit against a daemon's event log: every chain fact on which the two disagree. Pure.

Why: the log is the daemon's memory of the chain; an auditor who replays it next to the chain itself sees
whether that memory is faithful (DESIGN §10, issue 10 point 4). Both sides are reduced to the same chain
facts, after their rollbacks: the schedules known from the chain, each allocation locked (by which
transaction, for whom, how much, which milestone, when it vests, at which slot) and each spend (released
or reclaimed, by which transaction, at which slot). Local facts (commands, signatures, submissions) are no
business of the chain and are not compared.

Two spellings of the same fact are made one before comparing: a schedule registered through the daemon
is known to its log by `ScheduleRegistered` (local, with its locks at their own blocks), a discovered one
by `ScheduleDiscovered` (its locks recorded at the block that completed the registration); a lock's slot
is always the slot of the transaction that locked it (taken from the registration's transaction list).

Only what both sides cover is compared: facts above the log's cursor (the log is behind the chain) or
at or below the audit's start point are counted as not compared, never reported as differences.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReclaimed,
    AllocationReleased,
    ChainEvent,
    ChainPoint,
    RolledBack,
    ScheduleDiscovered,
    SchedulePolicy,
    ScheduleRegistered,
)


@dataclass(frozen=True, slots=True)
class LockFact:
    tx_id: str
    schedule_id: str
    beneficiary: str
    amount: int
    milestone_id: str
    vesting_time_ms: int
    slot: int


@dataclass(frozen=True, slots=True)
class SpendFact:
    kind: str  # "released" | "reclaimed"
    schedule_id: str
    tx_id: str
    slot: int


@dataclass(frozen=True, slots=True)
class ScheduleFact:
    policy: SchedulePolicy
    definition: Mapping[str, Any]


@dataclass(slots=True)
class ChainFacts:
    """What one source says is on the chain, after its rollbacks."""

    schedules: dict[str, ScheduleFact] = field(default_factory=dict)
    locks: dict[str, LockFact] = field(default_factory=dict)
    spends: dict[str, SpendFact] = field(default_factory=dict)
    cursor: ChainPoint | None = None
    """The newest point this source has reached on its chain."""
    known: set[str] = field(default_factory=set)
    """Every schedule the source knows of, chain facts or not (a log's registered and discovered ones)."""


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str
    """`only_on_chain`, `only_in_log` or `differs`."""
    subject: str
    """A schedule id or an allocation's out-ref."""
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


@dataclass(frozen=True, slots=True)
class Comparison:
    differences: tuple[Difference, ...]
    compared: int
    """Chain facts compared (schedules, locks and spends on both sides' common stretch)."""
    not_compared: int
    """Facts outside the common stretch (above the log's cursor, or before the audit's start)."""
    horizon: int
    """The newest slot compared: the lower of the chain's tip and the log's cursor."""
    not_followed: tuple[str, ...] = ()
    """Schedules on chain the log does not know of at all (a daemon follows only some), not compared."""

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "differences": [d.to_json() for d in self.differences],
            "compared": self.compared,
            "not_compared": self.not_compared,
            "horizon_slot": self.horizon,
            "not_followed": list(self.not_followed),
        }


def chain_facts(events: Iterable[object]) -> ChainFacts:
    """Fold a source's events (a log's, or the audit's items: what is no event is skipped) into the
    chain facts they state."""
    registered: dict[str, ScheduleRegistered] = {}
    chain: list[ChainEvent] = []
    for event in events:
        if isinstance(event, ScheduleRegistered):
            registered.setdefault(event.schedule_id, event)
        elif isinstance(event, RolledBack):
            while chain and chain[-1].point.slot > event.point.slot:
                chain.pop()
            chain.append(event)
        elif isinstance(event, ChainEvent):
            chain.append(event)
    facts = ChainFacts(known=set(registered))
    lock_slots: dict[str, int] = {}
    for event in chain:
        facts.cursor = event.point
        known = getattr(event, "schedule_id", None)
        if known is not None:  # a log that lost a schedule's discovery still knows of it by its facts
            facts.known.add(known)
        if isinstance(event, ScheduleDiscovered):
            facts.schedules.setdefault(event.schedule_id, ScheduleFact(event.policy, event.definition))
            for tx in event.registration.get("transactions", ()):
                lock_slots[tx["tx_id"]] = int(tx["slot"])
    for event in chain:
        if isinstance(event, AllocationLocked):
            facts.locks[event.out_ref] = LockFact(
                event.tx_id,
                event.schedule_id,
                event.beneficiary,
                event.amount,
                event.milestone_id,
                event.vesting_time_ms,
                lock_slots.get(event.tx_id, event.point.slot),
            )
            known = registered.get(event.schedule_id)
            if known is not None and event.schedule_id not in facts.schedules:
                facts.schedules[event.schedule_id] = ScheduleFact(known.policy, known.definition)
        elif isinstance(event, AllocationReleased | AllocationReclaimed):
            kind = "released" if isinstance(event, AllocationReleased) else "reclaimed"
            facts.spends[event.out_ref] = SpendFact(kind, event.schedule_id, event.tx_id, event.point.slot)
    return facts


def compare(
    chain: ChainFacts,
    log: ChainFacts,
    *,
    start_slot: int,
    schedules: Collection[str] = (),
) -> Comparison:
    """Every difference between the chain's facts and the log's on their common stretch of chain:
    slots above `start_slot` (where the audit began) up to the older of the chain's tip and the log's
    cursor; for `schedules` when given, else for every schedule the log knows of (a daemon follows only
    some: the chain's others are listed as not followed, not as differences)."""
    scope = set(schedules) if schedules else set(log.known)
    not_followed = tuple(sorted(s for s in chain.schedules if s not in scope))
    tips = [p.slot for p in (chain.cursor, log.cursor) if p is not None]
    horizon = min(tips) if len(tips) == 2 else -1
    differences: list[Difference] = []
    compared = not_compared = 0

    def wanted(schedule_id: str) -> bool:
        return schedule_id in scope

    def in_range(slot: int) -> bool:
        return start_slot < slot <= horizon

    chain_locks = {ref: f for ref, f in chain.locks.items() if wanted(f.schedule_id)}
    log_locks = {ref: f for ref, f in log.locks.items() if wanted(f.schedule_id)}
    sids = sorted({s for s in (*chain.schedules, *log.schedules) if wanted(s)})
    covered = {f.schedule_id for f in chain_locks.values() if in_range(f.slot)}
    covered |= {f.schedule_id for f in log_locks.values() if in_range(f.slot)}
    for sid in sids:
        if sid not in covered and not (sid in chain.schedules and sid in log.schedules):
            not_compared += 1
            continue
        compared += 1
        ours, theirs = chain.schedules.get(sid), log.schedules.get(sid)
        if theirs is None:
            differences.append(
                Difference("only_on_chain", sid, f"schedule {sid} is on chain, not in the log")
            )
        elif ours is None:
            differences.append(
                Difference("only_in_log", sid, f"the log has schedule {sid}, the chain has not")
            )
        elif ours.policy != theirs.policy:
            differences.append(Difference("differs", sid, f"schedule {sid}: policy parameters differ"))
        elif dict(ours.definition) != dict(theirs.definition):
            differences.append(Difference("differs", sid, f"schedule {sid}: the definitions differ"))
    for ref in sorted(set(chain_locks) | set(log_locks)):
        ours_lock, theirs_lock = chain_locks.get(ref), log_locks.get(ref)
        slot = (ours_lock or theirs_lock).slot  # type: ignore[union-attr]
        if not in_range(slot):
            not_compared += 1
            continue
        compared += 1
        if theirs_lock is None:
            differences.append(
                Difference("only_on_chain", ref, f"{ref} locked at slot {slot}: not in the log")
            )
        elif ours_lock is None:
            differences.append(
                Difference("only_in_log", ref, f"the log has {ref} locked at slot {slot}; the chain has not")
            )
        elif ours_lock != theirs_lock:
            differences.append(
                Difference("differs", ref, f"{ref}: chain {_show(ours_lock)}, log {_show(theirs_lock)}")
            )
    chain_spends = {ref: f for ref, f in chain.spends.items() if wanted(f.schedule_id)}
    log_spends = {ref: f for ref, f in log.spends.items() if wanted(f.schedule_id)}
    for ref in sorted(set(chain_spends) | set(log_spends)):
        ours_spend, theirs_spend = chain_spends.get(ref), log_spends.get(ref)
        slot = (ours_spend or theirs_spend).slot  # type: ignore[union-attr]
        if not in_range(slot):
            not_compared += 1
            continue
        compared += 1
        if theirs_spend is None:
            differences.append(
                Difference(
                    "only_on_chain",
                    ref,
                    f"{ref} {ours_spend.kind} by {ours_spend.tx_id} at slot {slot}: "  # type: ignore[union-attr]
                    "the log still has it locked",
                )
            )
        elif ours_spend is None:
            differences.append(
                Difference(
                    "only_in_log",
                    ref,
                    f"the log has {ref} {theirs_spend.kind} by {theirs_spend.tx_id} at slot {slot}; "
                    "on chain it is not spent",
                )
            )
        elif ours_spend != theirs_spend:
            differences.append(
                Difference("differs", ref, f"{ref}: chain {_show(ours_spend)}, log {_show(theirs_spend)}")
            )
    return Comparison(tuple(differences), compared, not_compared, horizon, not_followed)


def _show(fact: LockFact | SpendFact) -> str:
    if isinstance(fact, SpendFact):
        return f"{fact.kind} by {fact.tx_id} at slot {fact.slot}"
    return (
        f"locked by {fact.tx_id} at slot {fact.slot} for {fact.beneficiary}: {fact.amount} "
        f"(milestone {fact.milestone_id}, vesting {fact.vesting_time_ms})"
    )
