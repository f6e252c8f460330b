"""Milestone state and claimable amounts, computed from the projection's facts (pure functions).

The tables store facts (schedule, signature, lock, release, reclaim, cancellation, tip); the answers
users ask for are derived here. Deriving instead of storing keeps rollbacks exact (there is no aggregate
to patch), and "claimable now" follows the chain tip without rewriting every row on every block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from milestoned.domain.eligibility import AllocationStatus, allocation_status


@dataclass(frozen=True, slots=True)
class ScheduleFact:
    schedule_id: str
    quorum: int
    oracle_keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class SignatureFact:
    schedule_id: str
    milestone_id: str
    oracle_key: str


@dataclass(frozen=True, slots=True)
class LockFact:
    out_ref: str
    schedule_id: str
    milestone_id: str
    beneficiary: str
    amount: int
    vesting_time_ms: int
    tx_id: str
    slot: int


@dataclass(frozen=True, slots=True)
class ExitFact:
    """A release or a reclaim of an allocation."""

    out_ref: str
    schedule_id: str
    tx_id: str
    slot: int


@dataclass(frozen=True, slots=True)
class CancellationFact:
    """A milestone's cancellation carried by transaction `tx_id` on chain (issue 15)."""

    schedule_id: str
    milestone_id: str
    tx_id: str
    slot: int


@dataclass(frozen=True, slots=True)
class ChainTip:
    slot: int
    header_hash: str
    chain_time_ms: int | None


@dataclass(frozen=True, slots=True)
class ProjectionSummary:
    """What `status` shows of the projections besides their position: their chain tip and the paused
    schedules. Both are functions of the position (only applied events move them), so the daemon notes
    them with it and answers `status` without reading the store while nothing moved."""

    tip: ChainTip | None
    paused: frozenset[str]


@dataclass(frozen=True, slots=True)
class Facts:
    schedules: tuple[ScheduleFact, ...]
    signatures: tuple[SignatureFact, ...]
    locks: tuple[LockFact, ...]
    releases: tuple[ExitFact, ...]
    reclaims: tuple[ExitFact, ...]
    tip: ChainTip | None
    moves: tuple[ExitFact, ...] = ()
    """Allocations moved to a new out-ref (issue 15): the old out-ref's lock is no longer the
    allocation (the new out-ref's lock is), so it is neither counted nor listed."""
    cancellations: tuple[CancellationFact, ...] = ()
    paused: frozenset[str] = frozenset()
    """Schedules whose guardians have paused their releases (issue 15)."""


@dataclass(frozen=True, slots=True)
class MilestoneState:
    """One milestone of one schedule: who has signed, whether the quorum is met, what is locked on it."""

    schedule_id: str
    milestone_id: str
    quorum: int | None  # None while the schedule is not registered with this daemon
    signed_by: tuple[str, ...]  # oracle keys of the schedule with a valid signature, sorted
    quorum_reached: bool
    allocations_locked: int
    amount_locked: int
    allocations_released: int
    amount_released: int
    allocations_reclaimed: int
    amount_reclaimed: int
    cancelled_in: tuple[str, ...] = ()
    """The transactions that carried the milestone's cancellation (empty: not cancelled); what they took
    back is counted as reclaimed."""

    @property
    def cancelled(self) -> bool:
        return bool(self.cancelled_in)


@dataclass(frozen=True, slots=True)
class ClaimableAllocation:
    """One allocation as its beneficiary sees it.

    `next_unlock_ms` is the vesting time while it lies ahead of chain time and the allocation is still
    open; None once vesting has passed, the allocation is released or reclaimed, or its milestone is
    cancelled. `status` is its one reason (`domain.eligibility.AllocationStatus`): an allocation the admin
    took back with its milestone's cancellation is `milestone_cancelled`, not `already_claimed`.
    """

    beneficiary: str
    out_ref: str
    schedule_id: str
    milestone_id: str
    amount: int
    vesting_time_ms: int
    milestone_verified: bool
    vesting_passed: bool
    released: bool
    reclaimed: bool
    claimable_now: bool
    next_unlock_ms: int | None
    slot: int
    milestone_cancelled: bool = False
    status: str = ""
    schedule_paused: bool = False


@dataclass(frozen=True, slots=True)
class Submission:
    """A release transaction this daemon submitted, and what became of it (submitted, confirmed,
    expired or failed), for the scheduler's resubmission and expiry jobs."""

    tx_id: str
    allocation_refs: tuple[str, ...]
    validity_upper_slot: int
    status: str
    reason: str


def verified_signers(
    schedules: Mapping[str, ScheduleFact], signatures: Iterable[SignatureFact]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per (schedule, milestone): the distinct oracles of that schedule whose valid signature is in."""
    signers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sig in signatures:
        schedule = schedules.get(sig.schedule_id)
        if schedule is not None and sig.oracle_key in schedule.oracle_keys:
            signers[(sig.schedule_id, sig.milestone_id)].add(sig.oracle_key)
        else:
            signers.setdefault((sig.schedule_id, sig.milestone_id), set())
    return {key: tuple(sorted(keys)) for key, keys in signers.items()}


def quorum_reached(schedule: ScheduleFact | None, signers: tuple[str, ...]) -> bool:
    return schedule is not None and len(signers) >= schedule.quorum


def cancelled_milestones(facts: Facts) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per (schedule, milestone) cancelled on chain: the transactions that carried its cancellation."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cancellation in facts.cancellations:
        found[(cancellation.schedule_id, cancellation.milestone_id)].add(cancellation.tx_id)
    return {key: tuple(sorted(txs)) for key, txs in found.items()}


def milestone_states(facts: Facts) -> list[MilestoneState]:
    """Every milestone that has a signature or an allocation, sorted by schedule and milestone."""
    schedules = {s.schedule_id: s for s in facts.schedules}
    signers = verified_signers(schedules, facts.signatures)
    moved = {e.out_ref for e in facts.moves}
    locks = [lock for lock in facts.locks if lock.out_ref not in moved]
    locks_by_ref = {lock.out_ref: lock for lock in locks}
    cancelled = cancelled_milestones(facts)
    keys = set(signers) | {(lock.schedule_id, lock.milestone_id) for lock in locks} | set(cancelled)
    totals: dict[tuple[str, str], list[int]] = {key: [0, 0, 0, 0, 0, 0] for key in keys}
    for lock in locks:
        row = totals[(lock.schedule_id, lock.milestone_id)]
        row[0] += 1
        row[1] += lock.amount
    for index, exits in ((2, facts.releases), (4, facts.reclaims)):
        for exit_ in exits:
            locked = locks_by_ref.get(exit_.out_ref)
            if locked is None:
                continue  # an exit of an allocation locked before this daemon started following
            row = totals[(locked.schedule_id, locked.milestone_id)]
            row[index] += 1
            row[index + 1] += locked.amount
    states = []
    for schedule_id, milestone_id in sorted(keys):
        schedule = schedules.get(schedule_id)
        signed = signers.get((schedule_id, milestone_id), ())
        t = totals[(schedule_id, milestone_id)]
        states.append(
            MilestoneState(
                schedule_id=schedule_id,
                milestone_id=milestone_id,
                quorum=None if schedule is None else schedule.quorum,
                signed_by=signed,
                quorum_reached=quorum_reached(schedule, signed),
                allocations_locked=t[0],
                amount_locked=t[1],
                allocations_released=t[2],
                amount_released=t[3],
                allocations_reclaimed=t[4],
                amount_reclaimed=t[5],
                cancelled_in=cancelled.get((schedule_id, milestone_id), ()),
            )
        )
    return states


def claimable_allocations(facts: Facts) -> list[ClaimableAllocation]:
    """Every locked allocation with its claim status at the chain tip, sorted by beneficiary and out-ref.
    A moved allocation is listed once, at its new out-ref and under its new beneficiary."""
    schedules = {s.schedule_id: s for s in facts.schedules}
    signers = verified_signers(schedules, facts.signatures)
    released = {e.out_ref for e in facts.releases}
    reclaimed = {e.out_ref for e in facts.reclaims}
    moved = {e.out_ref for e in facts.moves}
    cancelled = cancelled_milestones(facts)
    chain_time = None if facts.tip is None else facts.tip.chain_time_ms
    rows = []
    locks = (lock for lock in facts.locks if lock.out_ref not in moved)
    for lock in sorted(locks, key=lambda lock: (lock.beneficiary, lock.out_ref)):
        verified = quorum_reached(
            schedules.get(lock.schedule_id), signers.get((lock.schedule_id, lock.milestone_id), ())
        )
        vesting_passed = chain_time is not None and chain_time >= lock.vesting_time_ms
        is_released = lock.out_ref in released
        is_reclaimed = lock.out_ref in reclaimed
        is_open = not is_released and not is_reclaimed
        is_cancelled = (lock.schedule_id, lock.milestone_id) in cancelled
        paused = lock.schedule_id in facts.paused
        status = allocation_status(
            released=is_released or (is_reclaimed and not is_cancelled),
            milestone_verified=verified,
            vesting_passed=vesting_passed,
            milestone_cancelled=is_cancelled,
            paused=paused,
        )
        rows.append(
            ClaimableAllocation(
                beneficiary=lock.beneficiary,
                out_ref=lock.out_ref,
                schedule_id=lock.schedule_id,
                milestone_id=lock.milestone_id,
                amount=lock.amount,
                vesting_time_ms=lock.vesting_time_ms,
                milestone_verified=verified,
                vesting_passed=vesting_passed,
                released=is_released,
                reclaimed=is_reclaimed,
                claimable_now=status is AllocationStatus.CLAIMABLE,
                next_unlock_ms=(
                    lock.vesting_time_ms if is_open and not vesting_passed and not is_cancelled else None
                ),
                slot=lock.slot,
                milestone_cancelled=is_cancelled,
                status=status.value,
                schedule_paused=paused,
            )
        )
    return rows


def paused_schedules(
    states: Iterable[tuple[str, str, int, int]], spends: Iterable[tuple[str, str]] = ()
) -> frozenset[str]:
    """The paused schedules, from every (schedule id, out-ref, paused, slot) state row and every
    (schedule id, spent out-ref) of the changes.

    The state is a chain of UTxOs: each `SetPaused` spends the previous state and creates the next, so a
    schedule's current state is the row whose out-ref no change of it spent. That is exact even for
    two changes in one block. When it does not name exactly one row (changes recorded before they carried
    what they spent), the newest slot decides among the unspent rows, and two of them in one block count
    as paused: the safe side, where a release is at worst refused, never built against a paused state."""
    spent: dict[str, set[str]] = defaultdict(set)
    for schedule_id, out_ref in spends:
        spent[schedule_id].add(out_ref)
    unspent: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for schedule_id, out_ref, paused, slot in states:
        if out_ref not in spent[schedule_id]:
            unspent[schedule_id].append((slot, paused))
    return frozenset(sid for sid, rows in unspent.items() if max(rows)[1])


def claimable_totals(allocations: Iterable[ClaimableAllocation]) -> dict[str, int]:
    """Per beneficiary: the amount claimable right now."""
    totals: dict[str, int] = defaultdict(int)
    for allocation in allocations:
        totals[allocation.beneficiary] += allocation.amount if allocation.claimable_now else 0
    return dict(totals)
