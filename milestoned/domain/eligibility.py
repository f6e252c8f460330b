"""What a beneficiary can claim now: the release rules of the minting policy, read off-chain.

The on-chain policy is the final judge. These rules mirror it so that the daemon can answer "what can
I release, and if not, why not?" before anyone builds a transaction:

- a milestone is *verified* when at least `quorum` distinct known oracles have valid signatures over
  that schedule's attestation message for it (signatures by unknown keys, bad signatures and a second
  signature by the same oracle do not count);
- an allocation's vesting has *passed* when chain time >= its vesting time: a release transaction's
  validity range must start at or after the vesting time, and it can start at the current chain time;
- a milestone is *cancelled* when a quorum of its oracles signed that it will never be delivered and the
  admin took its allocations back with that cancellation on chain (issue 15, `MilestoneCancelled`);
- an allocation is claimable when it is not released yet, its milestone is verified and not cancelled,
  and its vesting has passed.

Each allocation gets one reason, checked in this order (the first that applies wins):
`already_claimed` (final: it was released, or reclaimed after the deadline), `milestone_cancelled` (final:
its milestone was cancelled, the admin took it back or may at once), `schedule_paused` (the schedule's
guardians stopped its releases, issue 15: needs them to resume), `milestone_not_verified` (needs
people to act: the oracles), `vesting_not_passed` (needs only time), `claimable`. Both underlying facts
are kept on every result too, so a display can say "vesting passed, waiting for the oracles".

Chain time is passed in, in POSIX milliseconds: these rules never read a clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from milestoned.domain.allocation import Allocation
from milestoned.domain.attestation import OracleSignature, Statement, verify_attestation


class AllocationStatus(StrEnum):
    CLAIMABLE = "claimable"
    VESTING_NOT_PASSED = "vesting_not_passed"
    MILESTONE_NOT_VERIFIED = "milestone_not_verified"
    SCHEDULE_PAUSED = "schedule_paused"
    MILESTONE_CANCELLED = "milestone_cancelled"
    ALREADY_CLAIMED = "already_claimed"


class QuorumStatus(StrEnum):
    PENDING = "pending"  # fewer valid signatures than the quorum
    MET = "met"  # exactly the quorum
    EXCEEDED = "exceeded"  # more than the quorum (still verified)


class IgnoredSignatureReason(StrEnum):
    UNKNOWN_ORACLE = "unknown_oracle"  # the key is not one of the schedule's oracles
    INVALID_SIGNATURE = "invalid_signature"  # not a valid signature of this schedule's milestone message
    DUPLICATE = "duplicate"  # this oracle's signature for this milestone was already counted


@dataclass(frozen=True)
class IgnoredSignature:
    """A signature that does not count toward a milestone's quorum, and why (for `status` displays)."""

    signature: OracleSignature
    reason: IgnoredSignatureReason


@dataclass(frozen=True)
class MilestoneQuorum:
    milestone_id: bytes
    quorum: int
    signers: tuple[bytes, ...]  # distinct known oracle keys with a valid signature, sorted
    ignored: tuple[IgnoredSignature, ...] = ()

    @property
    def valid_signatures(self) -> int:
        return len(self.signers)

    @property
    def status(self) -> QuorumStatus:
        return quorum_status(self.valid_signatures, self.quorum)

    @property
    def verified(self) -> bool:
        return self.valid_signatures >= self.quorum

    @property
    def missing_signatures(self) -> int:
        """How many more distinct oracles must sign before the milestone is verified."""
        return max(0, self.quorum - self.valid_signatures)


@dataclass(frozen=True)
class LockedAllocation:
    """An allocation and the reference that identifies it, e.g. its UTxO `"<tx id>#<index>"`."""

    reference: str
    allocation: Allocation


@dataclass(frozen=True)
class AllocationEligibility:
    reference: str
    allocation: Allocation
    status: AllocationStatus
    milestone_verified: bool
    vesting_passed: bool
    milestone_cancelled: bool = False

    @property
    def claimable_amount(self) -> int:
        return self.allocation.token_amount if self.status is AllocationStatus.CLAIMABLE else 0


@dataclass(frozen=True)
class EligibilityReport:
    """Everything the rules say about one schedule's allocations at one chain time."""

    chain_time_ms: int
    allocations: tuple[AllocationEligibility, ...]  # in the order given
    milestones: tuple[MilestoneQuorum, ...]  # every milestone of an allocation or a signature, by id
    claimable_by_beneficiary: tuple[tuple[str, int], ...]  # (address, amount > 0), sorted by address
    next_unlock_ms: int | None  # earliest future vesting among unreleased allocations of verified milestones
    next_vesting_ms: int | None  # earliest future vesting among unreleased allocations, verified or not

    def claimable_amount(self, beneficiary_address: str) -> int:
        return dict(self.claimable_by_beneficiary).get(beneficiary_address, 0)

    @property
    def total_claimable(self) -> int:
        return sum(amount for _, amount in self.claimable_by_beneficiary)

    def milestone(self, milestone_id: bytes) -> MilestoneQuorum | None:
        return next((m for m in self.milestones if m.milestone_id == milestone_id), None)

    def for_beneficiary(self, beneficiary_address: str) -> tuple[AllocationEligibility, ...]:
        return tuple(e for e in self.allocations if e.allocation.beneficiary_address == beneficiary_address)

    def next_unlock_for(self, beneficiary_address: str) -> int | None:
        """Like `next_unlock_ms`, restricted to one beneficiary's allocations."""
        return _earliest_future(
            (e for e in self.for_beneficiary(beneficiary_address) if e.milestone_verified), self.chain_time_ms
        )


def quorum_status(valid_signatures: int, quorum: int) -> QuorumStatus:
    if valid_signatures < quorum:
        return QuorumStatus.PENDING
    if valid_signatures == quorum:
        return QuorumStatus.MET
    return QuorumStatus.EXCEEDED


def vesting_passed(allocation: Allocation, chain_time_ms: int) -> bool:
    """A release may have a validity range starting at chain time, and must start at or after vesting."""
    return chain_time_ms >= allocation.vesting_time_ms


def allocation_status(
    *,
    released: bool,
    milestone_verified: bool,
    vesting_passed: bool,
    milestone_cancelled: bool = False,
    paused: bool = False,
) -> AllocationStatus:
    """The one reason for an allocation, by the precedence in this module's docstring.

    `released` is a release, or a reclaim after the deadline; an allocation the admin took back with
    a cancellation is not `released`: its reason is its milestone's cancellation."""
    if released:
        return AllocationStatus.ALREADY_CLAIMED
    if milestone_cancelled:
        return AllocationStatus.MILESTONE_CANCELLED
    if paused:
        return AllocationStatus.SCHEDULE_PAUSED
    if not milestone_verified:
        return AllocationStatus.MILESTONE_NOT_VERIFIED
    if not vesting_passed:
        return AllocationStatus.VESTING_NOT_PASSED
    return AllocationStatus.CLAIMABLE


def milestone_quorum(
    schedule_id: bytes,
    milestone_id: bytes,
    signatures: Iterable[OracleSignature],
    *,
    oracle_keys: Collection[bytes],
    quorum: int,
    statement: Statement = Statement.ATTEST,
) -> MilestoneQuorum:
    """Count the distinct known oracles whose signature of `statement` (an attestation unless said
    otherwise) over this schedule's milestone is valid."""
    _check_quorum(quorum)
    known = frozenset(oracle_keys)
    signers: set[bytes] = set()
    ignored: list[IgnoredSignature] = []
    for signature in signatures:
        if signature.oracle_key not in known:
            reason: IgnoredSignatureReason | None = IgnoredSignatureReason.UNKNOWN_ORACLE
        elif not verify_attestation(signature, schedule_id, milestone_id, statement):
            reason = IgnoredSignatureReason.INVALID_SIGNATURE
        elif signature.oracle_key in signers:
            reason = IgnoredSignatureReason.DUPLICATE
        else:
            reason = None
            signers.add(signature.oracle_key)
        if reason is not None:
            ignored.append(IgnoredSignature(signature, reason))
    return MilestoneQuorum(milestone_id, quorum, tuple(sorted(signers)), tuple(ignored))


def evaluate_eligibility(
    allocations: Iterable[LockedAllocation],
    *,
    schedule_id: bytes,
    oracle_keys: Sequence[bytes],
    quorum: int,
    signatures: Mapping[bytes, Iterable[OracleSignature]],
    chain_time_ms: int,
    released: Collection[str],
    cancelled: Collection[bytes] = (),
    paused: bool = False,
) -> EligibilityReport:
    """Apply the release rules to one schedule's allocations at `chain_time_ms`.

    `signatures` maps a milestone id (on-chain bytes) to the signatures committed for it, valid or not;
    `released` holds the references of allocations already released (or reclaimed after the deadline);
    `cancelled` the ids of the schedule's cancelled milestones; `paused`: the schedule's guardians have
    paused its releases.
    """
    _check_quorum(quorum)
    locked = tuple(allocations)
    references = [item.reference for item in locked]
    if len(set(references)) != len(references):
        raise ValueError("allocation references must be unique within one evaluation")
    milestone_ids = sorted({item.allocation.milestone_id for item in locked} | set(signatures))
    quorums = {
        milestone_id: milestone_quorum(
            schedule_id,
            milestone_id,
            signatures.get(milestone_id, ()),
            oracle_keys=oracle_keys,
            quorum=quorum,
        )
        for milestone_id in milestone_ids
    }
    released_set = frozenset(released)
    cancelled_set = frozenset(cancelled)
    results: list[AllocationEligibility] = []
    claimable: dict[str, int] = {}
    for item in locked:
        verified = quorums[item.allocation.milestone_id].verified
        passed = vesting_passed(item.allocation, chain_time_ms)
        cancelled_now = item.allocation.milestone_id in cancelled_set
        status = allocation_status(
            released=item.reference in released_set,
            milestone_verified=verified,
            vesting_passed=passed,
            milestone_cancelled=cancelled_now,
            paused=paused,
        )
        result = AllocationEligibility(
            item.reference, item.allocation, status, verified, passed, cancelled_now
        )
        results.append(result)
        if result.claimable_amount:
            address = item.allocation.beneficiary_address
            claimable[address] = claimable.get(address, 0) + result.claimable_amount
    return EligibilityReport(
        chain_time_ms=chain_time_ms,
        allocations=tuple(results),
        milestones=tuple(quorums[milestone_id] for milestone_id in milestone_ids),
        claimable_by_beneficiary=tuple(sorted(claimable.items())),
        next_unlock_ms=_earliest_future((r for r in results if r.milestone_verified), chain_time_ms),
        next_vesting_ms=_earliest_future(results, chain_time_ms),
    )


def _earliest_future(results: Iterable[AllocationEligibility], chain_time_ms: int) -> int | None:
    """The earliest vesting time after `chain_time_ms` among the unreleased allocations in `results`
    (those of a cancelled milestone never unlock)."""
    future = [
        r.allocation.vesting_time_ms
        for r in results
        if r.status not in _FINAL and r.allocation.vesting_time_ms > chain_time_ms
    ]
    return min(future, default=None)


_FINAL = frozenset({AllocationStatus.ALREADY_CLAIMED, AllocationStatus.MILESTONE_CANCELLED})


def _check_quorum(quorum: int) -> None:
    if quorum < 1:
        raise ValueError(f"a quorum is at least 1, got {quorum}")
