"""The life of a submitted transaction, as a pure state machine the daemon persists as events.

    submitted ──(seen in a block)──────────────► confirmed ──(its block rolled back)──► submitted
        │ └──(tip reaches its TTL, not in a block)► expired    (final; its allocations may be rebuilt)
        └────(the ledger or a later check refused it)► rejected (final; likewise)

Why pure: the daemon records each transition as an event and rebuilds this state by replaying them,
so the same events must always give the same state, with no clock or I/O inside. Times are slots: a
transaction whose validity ends at `ttl` (exclusive) cannot enter a block at a slot ≥ ttl, so once the
chain tip has reached `ttl` without it, it never will.

The rule that matters most: an allocation is in at most one live (submitted or confirmed-but-young)
transaction. `submit` refuses a transaction that spends an allocation of a live one, which is what
makes it safe to rebuild an expired release, and impossible to release one allocation twice in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType


class SubmissionState(StrEnum):
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    REJECTED = "rejected"


LIVE_STATES = frozenset({SubmissionState.SUBMITTED})
FINAL_STATES = frozenset({SubmissionState.EXPIRED, SubmissionState.REJECTED})


class LifecycleError(ValueError):
    """A transition that the rules do not allow; the message says which and why."""


@dataclass(frozen=True)
class Submission:
    tx_id: str
    kind: str
    allocations: frozenset[str]
    ttl: int | None
    """The slot from which the transaction can no longer enter a block (None: never expires)."""
    state: SubmissionState = SubmissionState.SUBMITTED
    block_slot: int | None = None
    block_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Lifecycle:
    """Every tracked submission by transaction id. Each method returns a new Lifecycle."""

    submissions: Mapping[str, Submission] = field(default_factory=lambda: MappingProxyType({}))

    def _with(self, submission: Submission) -> Lifecycle:
        updated = dict(self.submissions)
        updated[submission.tx_id] = submission
        return Lifecycle(MappingProxyType(updated))

    def _get(self, tx_id: str) -> Submission:
        try:
            return self.submissions[tx_id]
        except KeyError:
            raise LifecycleError(f"transaction {tx_id} was never recorded as submitted") from None

    def in_flight(self) -> dict[str, str]:
        """{allocation reference: tx id} for every allocation spent by a live (submitted) transaction."""
        return {
            allocation: s.tx_id
            for s in self.submissions.values()
            if s.state in LIVE_STATES
            for allocation in s.allocations
        }

    def settled(self) -> dict[str, str]:
        """{allocation reference: tx id} for allocations spent by a confirmed transaction."""
        return {
            allocation: s.tx_id
            for s in self.submissions.values()
            if s.state is SubmissionState.CONFIRMED
            for allocation in s.allocations
        }

    def may_build(self, allocation: str) -> bool:
        """True when no live or confirmed transaction spends `allocation` (so a release may be built)."""
        return allocation not in self.in_flight() and allocation not in self.settled()

    def submit(self, tx_id: str, kind: str, allocations: Iterable[str], ttl: int | None) -> Lifecycle:
        """Record a submission. Refused when an allocation is already in a live or confirmed transaction."""
        wanted = frozenset(allocations)
        if tx_id in self.submissions and self.submissions[tx_id].state not in FINAL_STATES:
            raise LifecycleError(f"transaction {tx_id} is already {self.submissions[tx_id].state}")
        busy = {a: t for a, t in {**self.settled(), **self.in_flight()}.items() if a in wanted and t != tx_id}
        if busy:
            allocation, other = sorted(busy.items())[0]
            state = self.submissions[other].state
            raise LifecycleError(
                f"allocation {allocation} is already spent by transaction {other} ({state}); "
                "an allocation is never in two live transactions — wait until that one expires"
            )
        return self._with(Submission(tx_id, kind, wanted, ttl))

    def confirm(self, tx_id: str, block_slot: int, block_id: str) -> Lifecycle:
        """The transaction was seen in a block: whatever we thought before, the chain is the judge."""
        current = self._get(tx_id)
        if current.state is SubmissionState.CONFIRMED and current.block_id == block_id:
            return self
        return self._with(
            replace(current, state=SubmissionState.CONFIRMED, block_slot=block_slot, block_id=block_id)
        )

    def reject(self, tx_id: str, reason: str) -> Lifecycle:
        current = self._get(tx_id)
        if current.state is not SubmissionState.SUBMITTED:
            raise LifecycleError(f"transaction {tx_id} is {current.state}, it can no longer be rejected")
        return self._with(replace(current, state=SubmissionState.REJECTED, reason=reason))

    def observe_tip(self, slot: int) -> Lifecycle:
        """The chain tip reached `slot`: live transactions whose TTL is at or below it have expired."""
        result = self
        for s in self.submissions.values():
            if s.state is SubmissionState.SUBMITTED and s.ttl is not None and slot >= s.ttl:
                result = result._with(
                    replace(s, state=SubmissionState.EXPIRED, reason=f"tip reached slot {slot} ≥ TTL {s.ttl}")
                )
        return result

    def roll_back(self, to_slot: int) -> Lifecycle:
        """Blocks after `to_slot` were rolled back: transactions confirmed in them are live again."""
        result = self
        for s in self.submissions.values():
            if s.state is SubmissionState.CONFIRMED and s.block_slot is not None and s.block_slot > to_slot:
                result = result._with(
                    replace(s, state=SubmissionState.SUBMITTED, block_slot=None, block_id=None)
                )
        return result

    def expired_allocations(self) -> set[str]:
        """Allocations of expired or rejected transactions that no other transaction spends: rebuild them."""
        busy = set(self.in_flight()) | set(self.settled())
        return {
            a
            for s in self.submissions.values()
            if s.state in FINAL_STATES
            for a in s.allocations
            if a not in busy
        }
