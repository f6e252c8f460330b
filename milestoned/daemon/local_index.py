"""What the command handlers must know before appending: schedules and signatures already committed.

A fold of the event log, like the indexer's `FollowerState`, and for the same reason: the log is the
only truth, so after a restart this is rebuilt by reading it, and a duplicate command (the same schedule,
the same oracle's signature for the same milestone) is recognised and answered without a second event.
The projections answer queries; this answers "is it already there?" at the exact log position the next
append will follow, which the projections (caught up by polling) cannot promise. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from milestoned.domain.attestation import OracleSignature
from milestoned.eventlog.events import (
    AllocationLocked,
    ChainEvent,
    ChainPoint,
    Event,
    LeaderElected,
    MilestoneCancelled,
    OracleSignatureCommitted,
    OracleSignatureSeen,
    RegistrationPartSeen,
    ReleaseSubmitted,
    RolledBack,
    ScheduleDiscovered,
    ScheduleRegistered,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionIntended,
    SubmissionReverted,
)


@dataclass(slots=True)
class LocalIndex:
    schedules: dict[str, ScheduleRegistered | ScheduleDiscovered] = field(default_factory=dict)
    """Schedules registered here, and those discovered on chain (forgotten by a rollback below them)."""
    registered_at: dict[str, ChainPoint] = field(default_factory=dict)
    """Schedule id → the point of its first registration transaction seen on chain."""
    rebuild_from: dict[str, ChainPoint] = field(default_factory=dict)
    """Schedule id → the newest recorded point before that transaction: where a rebuild of the log from
    the chain must intersect to see the whole registration (chain sync gives the blocks after a point)."""
    last_point: ChainPoint = field(default_factory=ChainPoint.origin)
    """The newest point the log recorded."""
    _before_last: ChainPoint = field(default_factory=ChainPoint.origin)
    """The recorded point before `last_point`."""
    signatures: dict[tuple[str, str], dict[str, OracleSignature]] = field(default_factory=dict)
    """(schedule id, milestone id hex) → oracle key hex → signature."""
    in_flight: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """tx id → allocation refs, for submissions not yet confirmed, expired or failed."""
    submitted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """tx id → allocation refs, for submissions not expired or failed: live or confirmed (a confirmed
    one is live again if its block is rolled back, see `SubmissionReverted`)."""
    intents: dict[str, SubmissionIntended] = field(default_factory=dict)
    """tx id → intent, for transactions about to be (or perhaps) sent whose outcome is not recorded yet:
    their allocations are in flight, their inputs not to be spent again, until sent or reconciled."""
    pending_inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """tx id → inputs, for intents and sent transactions not yet confirmed, expired or failed."""
    term: int = 0
    """The newest leader term the log recorded (`LeaderElected`; 0: never, one daemon on SQLite)."""
    leader: str = ""
    intent_terms: dict[str, int] = field(default_factory=dict)
    """tx id → the term an open intent was recorded under (the reconciliation of `domain.leadership`)."""
    cancelled: dict[tuple[str, str], int] = field(default_factory=dict)
    """(schedule id, milestone id hex) → the slot of its first cancellation seen on chain (forgotten by a
    rollback below it): a release of that milestone's allocations is refused."""
    rollbacks: int = 0
    """How many rollbacks the log recorded: after one, confirmed submissions are checked again."""
    position: int = 0

    def apply(self, event: Event) -> None:
        if isinstance(event, ChainEvent):
            self._chain_event(event)
        if isinstance(event, ScheduleRegistered):
            self.schedules.setdefault(event.schedule_id, event)
        elif isinstance(event, OracleSignatureCommitted | OracleSignatureSeen):
            by_oracle = self.signatures.setdefault((event.schedule_id, event.milestone_id), {})
            by_oracle.setdefault(
                event.oracle_key,
                OracleSignature(bytes.fromhex(event.oracle_key), bytes.fromhex(event.signature)),
            )
        elif isinstance(event, LeaderElected):
            self.term, self.leader = event.term, event.leader
        elif isinstance(event, SubmissionIntended):
            self.intents[event.tx_id] = event
            self.intent_terms[event.tx_id] = self.term
            self.pending_inputs[event.tx_id] = event.inputs
        elif isinstance(event, ReleaseSubmitted):
            self.intents.pop(event.tx_id, None)
            self.intent_terms.pop(event.tx_id, None)
            self.in_flight[event.tx_id] = self.submitted[event.tx_id] = event.allocation_refs
        elif isinstance(event, SubmissionConfirmed):
            self.in_flight.pop(event.tx_id, None)
            self.pending_inputs.pop(event.tx_id, None)
        elif isinstance(event, SubmissionExpired | SubmissionFailed):
            self.intents.pop(event.tx_id, None)
            self.intent_terms.pop(event.tx_id, None)
            self.pending_inputs.pop(event.tx_id, None)
            self.in_flight.pop(event.tx_id, None)
            self.submitted.pop(event.tx_id, None)
        elif isinstance(event, SubmissionReverted) and event.tx_id in self.submitted:
            self.in_flight[event.tx_id] = self.submitted[event.tx_id]
        elif isinstance(event, RolledBack):
            self.rollbacks += 1

    def _chain_event(self, event: ChainEvent) -> None:
        if isinstance(event, RolledBack):
            slot = event.point.slot
            for sid in [s for s, e in self.schedules.items() if _discovered_above(e, slot)]:
                del self.schedules[sid]
            for key in [k for k, at in self.cancelled.items() if at > slot]:
                del self.cancelled[key]
            for sid in [s for s, p in self.registered_at.items() if p.slot > slot]:
                del self.registered_at[sid]
                self.rebuild_from.pop(sid, None)
            self.last_point = event.point  # the next block's predecessor on the new chain
            return
        if event.point != self.last_point:
            self._before_last, self.last_point = self.last_point, event.point
        if isinstance(event, ScheduleDiscovered):
            self.schedules.setdefault(event.schedule_id, event)
        elif isinstance(event, MilestoneCancelled):
            self.cancelled.setdefault((event.schedule_id, event.milestone_id), event.point.slot)
        elif (
            isinstance(event, AllocationLocked | RegistrationPartSeen)
            and event.schedule_id not in self.registered_at
        ):
            # the first registration transaction: for a discovered schedule its parts come before the
            # locks (which carry the completing block's point)
            self.registered_at[event.schedule_id] = event.point
            self.rebuild_from[event.schedule_id] = self._before_last

    def has_signature(self, schedule_id: str, milestone_id: str, oracle_key: str) -> bool:
        return oracle_key in self.signatures.get((schedule_id, milestone_id), {})

    def signatures_by_milestone(self, schedule_id: str) -> dict[bytes, list[OracleSignature]]:
        """Committed signatures of one schedule, keyed by milestone id bytes (what the txbuilder takes)."""
        return {
            bytes.fromhex(milestone): list(by_oracle.values())
            for (schedule, milestone), by_oracle in self.signatures.items()
            if schedule == schedule_id
        }

    def cancelled_milestones(self, schedule_id: str) -> set[bytes]:
        """The schedule's milestones cancelled on chain (milestone id bytes)."""
        return {bytes.fromhex(m) for (s, m) in self.cancelled if s == schedule_id}

    def in_flight_refs(self) -> dict[str, str]:
        """Allocation ref → tx id of the live submission (or unresolved intent) spending it."""
        refs = {ref: tx for tx, intent in self.intents.items() for ref in intent.allocation_refs}
        refs.update({ref: tx for tx, refs in self.in_flight.items() for ref in refs})
        return refs

    def unconfirmed_tx_ids(self) -> set[str]:
        """Our transactions not known to be confirmed: their outputs must not be spent yet."""
        return set(self.intents) | set(self.in_flight)

    def pending_input_refs(self) -> set[str]:
        """Every input (`txid#index`) of our unconfirmed transactions: not to be spent by another one."""
        return {ref for inputs in self.pending_inputs.values() for ref in inputs}


def _discovered_above(event: ScheduleRegistered | ScheduleDiscovered, slot: int) -> bool:
    return isinstance(event, ScheduleDiscovered) and event.point.slot > slot
