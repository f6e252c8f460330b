"""The facts the daemon records: what admins committed locally and what happened on chain.

Events are plain frozen values with JSON-able fields (hex strings, ints, tuples of strings, JSON objects),
so that their canonical bytes, and therefore the hash chain over them, never depend on a Python object
layout. Each class has a stable `topic`: the name under which it is stored. Renaming a class must never
change its topic; a change of fields gets a new topic (`.../v2`) so old logs keep decoding.

Chain events carry the block point they came from and, when a transaction caused them, its id; that slot
is what lets a projection undo exactly what a rollback removes. Local events carry no point: a fork on
chain does not un-commit an admin's command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from milestoned.domain.parameters import ScheduleParameters
from milestoned.domain.schedule_guardians import format_out_ref, parse_out_ref

ORIGIN_SLOT = -1
ORIGIN_HASH = "origin"


_HEX = re.compile(r"^(?:[0-9a-f]{2})*$")
_OUT_REF = re.compile(r"^[0-9a-f]{64}#[0-9]{1,5}$")


class InvalidEventError(ValueError):
    """An event was built with a field that cannot be right (wrong length, not hex, negative amount)."""


def _hex(name: str, value: object, size: int | None = None, max_size: int | None = None) -> None:
    if not isinstance(value, str) or not _HEX.match(value):
        raise InvalidEventError(f"{name} must be lowercase hex, got {value!r}")
    if size is not None and len(value) != 2 * size:
        raise InvalidEventError(f"{name} must be {size} bytes ({2 * size} hex digits), got {len(value) // 2}")
    if max_size is not None and len(value) > 2 * max_size:
        raise InvalidEventError(f"{name} must be at most {max_size} bytes, got {len(value) // 2}")


def _out_ref(name: str, value: object) -> None:
    if not isinstance(value, str) or not _OUT_REF.match(value):
        raise InvalidEventError(
            f"{name} must be an output reference 'txid#index' (64 hex digits), got {value!r}"
        )


def _natural(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidEventError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_field(name: str, value: object) -> None:
    """The rules for a field, by its name: the same name means the same thing in every event."""
    if name == "schedule_id":
        _hex(name, value, size=28)
    elif name == "tx_id":
        _hex(name, value, size=32)
    elif name == "out_ref":
        _out_ref(name, value)
    elif name == "milestone_id":
        _hex(name, value, max_size=64)
    elif name in ("oracle_key", "signature"):
        _hex(name, value)
    elif name == "amount":
        _natural(name, value, 1)
    elif name == "validity_upper_slot":
        _natural(name, value, 0)
    elif name == "head_hash":
        _hex(name, value, size=32)
    elif name == "position":
        _natural(name, value, 1)
    elif name == "oracle_indices":
        if not isinstance(value, tuple) or not value:
            raise InvalidEventError(f"{name} must be a non-empty tuple of oracle indices, got {value!r}")
        for index in value:
            _natural(name, index, 0)
    elif name == "allocation_refs":
        if not isinstance(value, tuple) or not value:
            raise InvalidEventError(f"{name} must be a non-empty tuple of output references, got {value!r}")
        for ref in value:
            _out_ref(name, ref)
    elif name == "spent":
        if not isinstance(value, tuple):
            raise InvalidEventError(f"{name} must be a tuple of output references, got {value!r}")
        for ref in value:
            _out_ref(name, ref)


@dataclass(frozen=True, slots=True)
class ChainPoint:
    """A block on chain: its slot and header hash (hex). The origin is slot -1 with hash "origin"."""

    slot: int
    header_hash: str

    def __post_init__(self) -> None:
        if self.slot == ORIGIN_SLOT and self.header_hash == ORIGIN_HASH:
            return
        _natural("slot", self.slot, 0)
        _hex("header_hash", self.header_hash, size=32)

    @classmethod
    def origin(cls) -> ChainPoint:
        return cls(slot=ORIGIN_SLOT, header_hash=ORIGIN_HASH)

    @property
    def is_origin(self) -> bool:
        return self.slot == ORIGIN_SLOT

    def to_ogmios(self) -> dict[str, Any] | str:
        """The point as Ogmios writes it in `findIntersection`: `"origin"` or `{"slot", "id"}`."""
        if self.is_origin:
            return "origin"
        return {"slot": self.slot, "id": self.header_hash}


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    """`ScheduleParameters` in JSON-able form (bytes as hex), as they are recorded in the log.

    The guardians (issue 15) are recorded only for a schedule that has them (`codec` leaves the three
    fields out when `guardian_threshold` is 0), so every event recorded before them keeps its bytes and
    its place in the hash chain. `state_seed` ("txid#index", the UTxO the state's creation spends) came
    later still: a guarded schedule recorded before it has none ("" and left out of its bytes)."""

    admin_key_hash: str
    token_policy_id: str
    token_name: str
    oracle_keys: tuple[str, ...]
    quorum: int
    reclaim_deadline_ms: int
    nonce: str
    guardian_keys: tuple[str, ...] = ()
    guardian_threshold: int = 0
    state_seed: str = ""

    @classmethod
    def from_parameters(cls, parameters: ScheduleParameters) -> SchedulePolicy:
        return cls(
            admin_key_hash=parameters.admin_key_hash.hex(),
            token_policy_id=parameters.token_policy_id.hex(),
            token_name=parameters.token_name.hex(),
            oracle_keys=tuple(key.hex() for key in parameters.oracle_keys),
            quorum=parameters.quorum,
            reclaim_deadline_ms=parameters.reclaim_deadline_ms,
            nonce=parameters.nonce.hex(),
            guardian_keys=tuple(key.hex() for key in parameters.guardian_keys),
            guardian_threshold=parameters.guardian_threshold,
            state_seed=format_out_ref(parameters.guardian_seed) if parameters.guardian_seed[0] else "",
        )

    def to_parameters(self) -> ScheduleParameters:
        return ScheduleParameters(
            admin_key_hash=bytes.fromhex(self.admin_key_hash),
            token_policy_id=bytes.fromhex(self.token_policy_id),
            token_name=bytes.fromhex(self.token_name),
            oracle_keys=tuple(bytes.fromhex(key) for key in self.oracle_keys),
            quorum=self.quorum,
            reclaim_deadline_ms=self.reclaim_deadline_ms,
            nonce=bytes.fromhex(self.nonce),
            guardian_keys=tuple(bytes.fromhex(key) for key in self.guardian_keys),
            guardian_threshold=self.guardian_threshold,
            guardian_seed=parse_out_ref(self.state_seed) if self.state_seed else (b"", 0),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every recorded event; `topic` is the stable name it is stored under."""

    topic: ClassVar[str] = ""
    added_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields added to a topic after events of it were recorded. Each has a default and is left out of
    the recorded bytes while it holds it (`codec`), so an older record, without it, decodes to the
    default and keeps its bytes and its hash."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            _check_field(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class LocalEvent(Event):
    """A fact committed by this daemon (an admin command, a submission outcome): never rolled back."""


@dataclass(frozen=True, slots=True)
class ChainEvent(Event):
    """A fact read from the chain at `point`; a rollback below `point.slot` undoes it."""

    point: ChainPoint


# --- local events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleRegistered(LocalEvent):
    """An admin registered a schedule: its id (policy id, hex), its canonical definition and parameters."""

    topic: ClassVar[str] = "ScheduleRegistered/v1"
    schedule_id: str
    definition: Mapping[str, Any]
    policy: SchedulePolicy


@dataclass(frozen=True, slots=True)
class OracleSignatureCommitted(LocalEvent):
    """An oracle's signature over a milestone's attestation message was handed to the daemon."""

    topic: ClassVar[str] = "OracleSignatureCommitted/v1"
    schedule_id: str
    milestone_id: str
    oracle_key: str
    signature: str


@dataclass(frozen=True, slots=True)
class ReleaseSubmitted(LocalEvent):
    """A release transaction spending `allocation_refs` was submitted; it is void after that slot."""

    topic: ClassVar[str] = "ReleaseSubmitted/v1"
    tx_id: str
    allocation_refs: tuple[str, ...]
    validity_upper_slot: int


@dataclass(frozen=True, slots=True)
class SubmissionConfirmed(LocalEvent):
    topic: ClassVar[str] = "SubmissionConfirmed/v1"
    tx_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SubmissionExpired(LocalEvent):
    topic: ClassVar[str] = "SubmissionExpired/v1"
    tx_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SubmissionFailed(LocalEvent):
    topic: ClassVar[str] = "SubmissionFailed/v1"
    tx_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SubmissionReverted(LocalEvent):
    """A confirmed release is no longer on the chain (its block was rolled back): it is live again, until
    a block includes it once more (confirmed) or its validity ends (expired)."""

    topic: ClassVar[str] = "SubmissionReverted/v1"
    tx_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HeadAnchored(LocalEvent):
    """The log's head at `position` (hash `head_hash`) was published on chain in transaction `tx_id`
    (metadata label 1968): the list an auditor checks the published heads from."""

    topic: ClassVar[str] = "HeadAnchored/v1"
    tx_id: str
    position: int
    head_hash: str


# --- chain events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllocationLocked(ChainEvent):
    """An allocation UTxO (with its auth token) was created at the validator by transaction `tx_id`."""

    topic: ClassVar[str] = "AllocationLocked/v1"
    tx_id: str
    schedule_id: str
    out_ref: str  # "txid#index"
    beneficiary: str  # bech32 address
    amount: int
    milestone_id: str
    vesting_time_ms: int


@dataclass(frozen=True, slots=True)
class AllocationReleased(ChainEvent):
    topic: ClassVar[str] = "AllocationReleased/v1"
    tx_id: str
    schedule_id: str
    out_ref: str


@dataclass(frozen=True, slots=True)
class AllocationReclaimed(ChainEvent):
    topic: ClassVar[str] = "AllocationReclaimed/v1"
    tx_id: str
    schedule_id: str
    out_ref: str


@dataclass(frozen=True, slots=True)
class OracleSignatureSeen(ChainEvent):
    """An oracle's signature carried by a release on chain (the policy's Release redeemer): the chain's
    copy of what `OracleSignatureCommitted` records locally, so that a log rebuilt from the chain knows
    every signature a release has used. Counted only if it verifies, like a committed one."""

    topic: ClassVar[str] = "OracleSignatureSeen/v1"
    tx_id: str
    schedule_id: str
    milestone_id: str
    oracle_key: str
    signature: str


@dataclass(frozen=True, slots=True)
class RegistrationPartSeen(ChainEvent):
    """A transaction of a schedule's registration that the daemon does not know yet: it minted
    `part["allocations"]` auth tokens under `schedule_id` and carried its slice of the definition (label
    1967, `part` is that document as read). Recorded so that a registration split over several blocks is
    assembled across restarts and rollbacks; it proves nothing until `ScheduleDiscovered`.

    `locks` holds the allocations the transaction locked (`{"allocations": [{out_ref, beneficiary,
    amount, milestone_id, vesting_time_ms}, ...]}`): they become `AllocationLocked` once discovered."""

    topic: ClassVar[str] = "RegistrationPartSeen/v1"
    tx_id: str
    schedule_id: str
    part: Mapping[str, Any]
    locks: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ScheduleDiscovered(ChainEvent):
    """A schedule learnt from the chain alone: every part of its registration is on chain, the definition
    they carry re-derives `schedule_id` (the policy that minted the auth tokens), and the daemon's follow
    rules take it. `registration` lists its transactions: `{"transactions": [{tx_id, slot, header_hash,
    first, end}, ...]}` in allocation order (the first one's point is where a rebuild may start).
    Recorded at the block that completed the registration, so a rollback below it forgets it."""

    topic: ClassVar[str] = "ScheduleDiscovered/v1"
    schedule_id: str
    definition: Mapping[str, Any]
    policy: SchedulePolicy
    registration: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RolledBack(ChainEvent):
    """The chain switched forks: everything above `point` (the point rolled back to) is gone."""

    topic: ClassVar[str] = "RolledBack/v1"


@dataclass(frozen=True, slots=True)
class ChainCursorCheckpointed(ChainEvent):
    """The indexer has processed the chain up to `point` (written even when a block had nothing for us)."""

    topic: ClassVar[str] = "ChainCursorCheckpointed/v1"


EVENT_TYPES: tuple[type[Event], ...] = (
    ScheduleRegistered,
    OracleSignatureCommitted,
    ReleaseSubmitted,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionReverted,
    AllocationLocked,
    AllocationReleased,
    AllocationReclaimed,
    RolledBack,
    ChainCursorCheckpointed,
    RegistrationPartSeen,
    ScheduleDiscovered,
    OracleSignatureSeen,
    HeadAnchored,
)

EVENT_TYPES_BY_TOPIC: Mapping[str, type[Event]] = {cls.topic: cls for cls in EVENT_TYPES}


# --- submission intents (issue 17) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmissionIntended(LocalEvent):
    """The daemon is about to send transaction `tx_id` spending `allocation_refs`, and every one of
    `inputs` (wallet inputs included): recorded BEFORE sending, so a crash between sending and recording
    `ReleaseSubmitted` cannot lose a transaction that reaches the chain. Until the intent is resolved
    (`ReleaseSubmitted` once sent, `SubmissionFailed` when refused, or reconciled with the chain and the
    mempool after a crash), its allocations count as in flight and its inputs are not spent again."""

    topic: ClassVar[str] = "SubmissionIntended/v1"
    tx_id: str
    allocation_refs: tuple[str, ...]
    validity_upper_slot: int
    inputs: tuple[str, ...]

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        for ref in self.inputs:
            _out_ref("inputs", ref)


# --- leadership (issue 12) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaderElected(LocalEvent):
    """Daemon `leader` leads from here on, in `term` (several daemons on one PostgreSQL store). Every
    submission intent after this event and before the next one was recorded under `term`: a new leader
    knows which open intents a deposed leader may still send (`domain.leadership`)."""

    topic: ClassVar[str] = "LeaderElected/v1"
    term: int
    leader: str

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        _natural("term", self.term, 1)


# --- the schedule state of a schedule with guardians (issue 15) ---------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleStateCreated(ChainEvent):
    """The state UTxO of a schedule with guardians was created (`InitState` minted its state token) at
    `out_ref`, paused or not (`paused`: 0 or 1; 0 is all the policy accepts). Until it exists, the
    schedule's releases cannot pass."""

    topic: ClassVar[str] = "ScheduleStateCreated/v1"
    tx_id: str
    schedule_id: str
    out_ref: str
    paused: int

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        _paused(self.paused)


@dataclass(frozen=True, slots=True)
class SchedulePauseChanged(ChainEvent):
    """The guardians flipped the schedule's state (`SetPaused`): `paused` 1 = releases refused, 0 = allowed
    again; the state UTxO now lives at `out_ref`.

    `spent`: the transaction's inputs spent by a script (all its inputs when it lists no spend redeemer).
    The previous state UTxO is one of them, since a `SetPaused` spends it to create this one; the others
    are no state of any schedule. With it the projections follow the chain of state UTxOs (the current
    state is the one no later change spent), which orders two changes in one block. Added after the
    first events of this topic were recorded: those read as `()`, and keep their bytes."""

    topic: ClassVar[str] = "SchedulePauseChanged/v1"
    added_fields: ClassVar[frozenset[str]] = frozenset({"spent"})
    tx_id: str
    schedule_id: str
    out_ref: str
    paused: int
    spent: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        _paused(self.paused)


def _paused(value: object) -> None:
    if isinstance(value, bool) or value not in (0, 1):
        raise InvalidEventError(f"paused must be 0 or 1, got {value!r}")


EVENT_TYPES = (*EVENT_TYPES, SubmissionIntended, LeaderElected, ScheduleStateCreated, SchedulePauseChanged)
EVENT_TYPES_BY_TOPIC = {cls.topic: cls for cls in EVENT_TYPES}


# --- governance of a running schedule (issue 15) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllocationReassigned(ChainEvent):
    """The beneficiary moved allocation `out_ref` (allocation validator's `Move` redeemer, nothing
    burned): transaction `tx_id` re-locked it as `new_out_ref`, for `new_beneficiary` (bech32) instead
    of `old_beneficiary`. The new UTxO is an allocation like any other (its `AllocationLocked` follows in
    the same transaction); this event says it is the same allocation, so projections drop the old
    out-ref and a rebuilt log follows the allocation to its new owner. `old_beneficiary` is empty when
    the indexer did not see the old allocation locked (it started following after)."""

    topic: ClassVar[str] = "AllocationReassigned/v1"
    tx_id: str
    schedule_id: str
    out_ref: str
    new_out_ref: str
    old_beneficiary: str
    new_beneficiary: str

    def __post_init__(self) -> None:
        Event.__post_init__(self)
        _out_ref("new_out_ref", self.new_out_ref)
        if not self.new_beneficiary:
            raise InvalidEventError("new_beneficiary must be a bech32 address, got an empty string")


@dataclass(frozen=True, slots=True)
class AllocationCancelled(AllocationReclaimed):
    """An allocation the admin took back with a milestone's cancellation (the policy's `Cancel`
    redeemer) rather than after the deadline: a reclaim (so everything that counts reclaims counts it),
    marked so that the allocation shows `milestone_cancelled`, not `already_claimed`."""

    topic: ClassVar[str] = "AllocationCancelled/v1"


@dataclass(frozen=True, slots=True)
class MilestoneCancelled(ChainEvent):
    """Transaction `tx_id` carried the cancellation of milestone `milestone_id` of `schedule_id`, signed by
    the oracles at `oracle_indices` (positions in the schedule's oracle keys, ascending), and took back
    that milestone's allocations it spent (`AllocationCancelled`). One per milestone and transaction: a
    cancellation spread over several transactions is recorded by each."""

    topic: ClassVar[str] = "MilestoneCancelled/v1"
    tx_id: str
    schedule_id: str
    milestone_id: str
    oracle_indices: tuple[int, ...]


EVENT_TYPES = (*EVENT_TYPES, AllocationReassigned, AllocationCancelled, MilestoneCancelled)
EVENT_TYPES_BY_TOPIC = {cls.topic: cls for cls in EVENT_TYPES}
