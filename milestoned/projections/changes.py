"""What each event does to the projection tables, as plain values (the functional core of projecting).

`changes_for(event)` turns one event into row changes; the SQL shell (`store.py`) only executes them.
The tables hold facts, each chain fact with the slot of its block: a rollback is then simply "delete
every chain fact above slot s and move the tip to s", which undoes exactly what the fork removed and
nothing else. Local facts (schedules, signatures, submissions) carry no slot and are never rolled back.

Signatures are checked here, with the same attestation message the on-chain policy rebuilds; an invalid
one stays in the log (the auditor can see it was offered) but never counts towards a quorum.
"""

from __future__ import annotations

from dataclasses import dataclass

from milestoned.domain.attestation import OracleSignature, verify_attestation
from milestoned.eventlog.codec import canonical_json, event_to_json
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReassigned,
    AllocationReclaimed,
    AllocationReleased,
    ChainCursorCheckpointed,
    ChainEvent,
    ChainPoint,
    Event,
    HeadAnchored,
    LeaderElected,
    MilestoneCancelled,
    OracleSignatureCommitted,
    OracleSignatureSeen,
    RegistrationPartSeen,
    ReleaseSubmitted,
    RolledBack,
    ScheduleDiscovered,
    SchedulePauseChanged,
    ScheduleRegistered,
    ScheduleStateCreated,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionIntended,
    SubmissionReverted,
)
from milestoned.projections.slots import SlotConfig


@dataclass(frozen=True, slots=True)
class RegisterSchedule:
    schedule_id: str
    quorum: int
    oracle_keys: str  # canonical JSON list of hex keys
    policy: str  # canonical JSON
    definition: str  # canonical JSON


@dataclass(frozen=True, slots=True)
class DiscoverSchedule:
    """A schedule learnt from the chain: a chain fact (with its slot), undone by a rollback below it."""

    schedule_id: str
    quorum: int
    oracle_keys: str  # canonical JSON list of hex keys
    policy: str  # canonical JSON
    definition: str  # canonical JSON
    registration: str  # canonical JSON: its transactions and their points
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddSignature:
    schedule_id: str
    milestone_id: str
    oracle_key: str
    signature: str


@dataclass(frozen=True, slots=True)
class AddLock:
    out_ref: str
    schedule_id: str
    milestone_id: str
    beneficiary: str
    amount: str  # decimal text: token quantities reach 2^64 - 1, beyond a signed SQL BIGINT
    vesting_time_ms: int
    tx_id: str
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddRelease:
    out_ref: str
    schedule_id: str
    tx_id: str
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddReclaim:
    out_ref: str
    schedule_id: str
    tx_id: str
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddScheduleState:
    """The state UTxO of a schedule with guardians, created or moved by a pause/resume (issue 15): the row
    no change spent (`AddStateSpend`) says whether its releases are paused; a rollback deletes the newer
    ones."""

    out_ref: str
    schedule_id: str
    paused: int
    tx_id: str
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddStateSpend:
    """A pause/resume of schedule `schedule_id` spent `spent_out_ref` (one row per input its scripts
    spent, `SchedulePauseChanged.spent`): the state UTxO there, if it is one, is no longer the current
    state. This is what orders two changes in one block; a rollback deletes it with its change."""

    spent_out_ref: str
    schedule_id: str
    tx_id: str
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddMove:
    """Allocation `out_ref` moved to `new_out_ref` (a new beneficiary): it leaves its old out-ref, and
    the new one's lock row (from its own `AllocationLocked`) carries it on."""

    out_ref: str
    schedule_id: str
    new_out_ref: str
    tx_id: str
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddCancellation:
    """A milestone's cancellation seen on chain (one per milestone and transaction that carried it)."""

    schedule_id: str
    milestone_id: str
    tx_id: str
    oracle_indices: str  # canonical JSON list of ints
    slot: int
    header_hash: str


@dataclass(frozen=True, slots=True)
class AddSubmission:
    tx_id: str
    allocation_refs: str  # canonical JSON list
    validity_upper_slot: int


@dataclass(frozen=True, slots=True)
class SetSubmissionStatus:
    tx_id: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class UndoAbove:
    """Delete every chain fact whose slot is above `slot`."""

    slot: int


@dataclass(frozen=True, slots=True)
class MoveTip:
    """The latest block seen is `point`; `chain_time_ms` is its slot in POSIX ms (None at the origin)."""

    slot: int
    header_hash: str
    chain_time_ms: int | None


RowChange = (
    RegisterSchedule
    | DiscoverSchedule
    | AddSignature
    | AddLock
    | AddRelease
    | AddReclaim
    | AddScheduleState
    | AddStateSpend
    | AddMove
    | AddCancellation
    | AddSubmission
    | SetSubmissionStatus
    | UndoAbove
    | MoveTip
)

SUBMISSION_SUBMITTED = "submitted"
SUBMISSION_STATUS = {
    SubmissionConfirmed: "confirmed",
    SubmissionExpired: "expired",
    SubmissionFailed: "failed",
    SubmissionReverted: SUBMISSION_SUBMITTED,
}


def move_tip(point: ChainPoint, slots: SlotConfig) -> MoveTip:
    if point.is_origin:
        return MoveTip(slot=point.slot, header_hash=point.header_hash, chain_time_ms=None)
    return MoveTip(
        slot=point.slot, header_hash=point.header_hash, chain_time_ms=slots.slot_to_posix_ms(point.slot)
    )


def signature_is_valid(event: OracleSignatureCommitted | OracleSignatureSeen) -> bool:
    """True when the signature verifies against the attestation message of this schedule's milestone."""
    try:
        signature = OracleSignature(
            oracle_key=bytes.fromhex(event.oracle_key), signature=bytes.fromhex(event.signature)
        )
        return verify_attestation(
            signature, bytes.fromhex(event.schedule_id), bytes.fromhex(event.milestone_id)
        )
    except ValueError:
        return False


def changes_for(event: Event, slots: SlotConfig) -> tuple[RowChange, ...]:
    """The row changes one event makes, in order. Pure: same event, same changes."""
    match event:
        case AllocationLocked():
            return (
                AddLock(
                    out_ref=event.out_ref,
                    schedule_id=event.schedule_id,
                    milestone_id=event.milestone_id,
                    beneficiary=event.beneficiary,
                    amount=str(event.amount),
                    vesting_time_ms=event.vesting_time_ms,
                    tx_id=event.tx_id,
                    slot=event.point.slot,
                    header_hash=event.point.header_hash,
                ),
                move_tip(event.point, slots),
            )
        case AllocationReleased():
            return (
                AddRelease(
                    event.out_ref, event.schedule_id, event.tx_id, event.point.slot, event.point.header_hash
                ),
                move_tip(event.point, slots),
            )
        case AllocationReclaimed():  # and AllocationCancelled: its milestone's cancellation marks it
            return (
                AddReclaim(
                    event.out_ref, event.schedule_id, event.tx_id, event.point.slot, event.point.header_hash
                ),
                move_tip(event.point, slots),
            )
        case ScheduleStateCreated() | SchedulePauseChanged():
            point = event.point
            spent = event.spent if isinstance(event, SchedulePauseChanged) else ()
            return (
                AddScheduleState(
                    event.out_ref, event.schedule_id, event.paused, event.tx_id, point.slot, point.header_hash
                ),
                *(
                    AddStateSpend(ref, event.schedule_id, event.tx_id, point.slot, point.header_hash)
                    for ref in spent
                ),
                move_tip(point, slots),
            )
        case AllocationReassigned():
            return (
                AddMove(
                    event.out_ref,
                    event.schedule_id,
                    event.new_out_ref,
                    event.tx_id,
                    event.point.slot,
                    event.point.header_hash,
                ),
                move_tip(event.point, slots),
            )
        case MilestoneCancelled():
            return (
                AddCancellation(
                    schedule_id=event.schedule_id,
                    milestone_id=event.milestone_id,
                    tx_id=event.tx_id,
                    oracle_indices=canonical_json(list(event.oracle_indices)).decode(),
                    slot=event.point.slot,
                    header_hash=event.point.header_hash,
                ),
                move_tip(event.point, slots),
            )
        case RolledBack():
            return (UndoAbove(event.point.slot), move_tip(event.point, slots))
        case ChainCursorCheckpointed() | RegistrationPartSeen():
            return (move_tip(event.point, slots),)
        case ScheduleDiscovered():
            return (
                DiscoverSchedule(
                    schedule_id=event.schedule_id,
                    quorum=event.policy.quorum,
                    oracle_keys=canonical_json(sorted(event.policy.oracle_keys)).decode(),
                    policy=canonical_json(event_to_json(event)["policy"]).decode(),
                    definition=canonical_json(dict(event.definition)).decode(),
                    registration=canonical_json(dict(event.registration)).decode(),
                    slot=event.point.slot,
                    header_hash=event.point.header_hash,
                ),
                move_tip(event.point, slots),
            )
        case ScheduleRegistered():
            return (
                RegisterSchedule(
                    schedule_id=event.schedule_id,
                    quorum=event.policy.quorum,
                    oracle_keys=canonical_json(sorted(event.policy.oracle_keys)).decode(),
                    policy=canonical_json(event_to_json(event)["policy"]).decode(),
                    definition=canonical_json(dict(event.definition)).decode(),
                ),
            )
        case OracleSignatureCommitted():
            if not signature_is_valid(event):
                return ()
            return (AddSignature(event.schedule_id, event.milestone_id, event.oracle_key, event.signature),)
        case OracleSignatureSeen():
            # A signature is valid whatever block carried it, so a rollback need not undo it: a plain
            # (slot-less) signature row, the same as a committed one (the first of the two is kept).
            seen = AddSignature(event.schedule_id, event.milestone_id, event.oracle_key, event.signature)
            return ((seen,) if signature_is_valid(event) else ()) + (move_tip(event.point, slots),)
        case ReleaseSubmitted():
            return (
                AddSubmission(
                    tx_id=event.tx_id,
                    allocation_refs=canonical_json(list(event.allocation_refs)).decode(),
                    validity_upper_slot=event.validity_upper_slot,
                ),
            )
        case SubmissionConfirmed() | SubmissionExpired() | SubmissionFailed() | SubmissionReverted():
            return (SetSubmissionStatus(event.tx_id, SUBMISSION_STATUS[type(event)], event.reason),)
        case HeadAnchored() | LeaderElected():
            return ()  # a fact for auditors (which heads were published, where): no projection rows
        case SubmissionIntended():
            return ()  # listed once sent (ReleaseSubmitted) or reconciled after a crash
        case ChainEvent():
            raise TypeError(f"no projection rule for chain event {event.topic}")
        case _:
            raise TypeError(f"no projection rule for event {type(event).__name__}")
