"""The checks before a release or reclaim is built, as pure functions: each failure is a `Refusal` that
names the rule and says when it will pass.

The on-chain policy is the final judge; these run first so that nobody pays a fee (or risks a
collateral) to learn that an oracle signature is missing or that vesting has not passed. Chain time is
passed in (the tip's slot time, see `ChainTime.now_ms`), never read from a clock here.

Rules, in the order they are checked for each allocation (the first that fails is reported):

1. `allocation_locked`: the allocation's UTxO is unspent at the validator with its auth token;
2. `not_in_flight`: no live (submitted, not yet confirmed or expired) transaction spends it;
3. `milestone_cancelled`: its milestone was not cancelled on chain (issue 15: a quorum of oracles said it
   will never be delivered, and its allocations go back to the admin; the policy would still release one
   of an attested milestone that a cancellation left behind, so the daemon refuses it here);
4. `milestone_quorum`: its milestone has at least `quorum` valid signatures of distinct known oracles;
5. `vesting`: chain time has reached its vesting time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from milestoned.domain import onchain_types as ot
from milestoned.domain.attestation import OracleSignature, verify_attestation
from milestoned.domain.eligibility import MilestoneQuorum, milestone_quorum
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.timestamps import format_timestamp
from milestoned.txbuilder.allocations import AllocationUtxo
from milestoned.txbuilder.errors import Refusal


@dataclass(frozen=True)
class ReleaseCheck:
    """What the checks decided: the allocations that may be released now, and a refusal for each other."""

    releasable: tuple[AllocationUtxo, ...]
    refusals: tuple[tuple[str, Refusal], ...]
    """(allocation reference, why not), in the order the allocations were asked for."""


def quorums(
    definition: ScheduleDefinition,
    schedule_id: bytes,
    milestone_ids: Iterable[bytes],
    signatures: Mapping[bytes, Iterable[OracleSignature]],
) -> dict[bytes, MilestoneQuorum]:
    return {
        m: milestone_quorum(
            schedule_id,
            m,
            list(signatures.get(m, ())),
            oracle_keys=definition.oracle_keys,
            quorum=definition.quorum,
        )
        for m in dict.fromkeys(milestone_ids)
    }


def _milestone_text(milestone_id: bytes) -> str:
    return milestone_id.decode("utf-8", errors="backslashreplace")


def check_allocation(
    reference: str,
    locked: Mapping[str, AllocationUtxo],
    in_flight: Mapping[str, str],
    quorum_of: Mapping[bytes, MilestoneQuorum],
    chain_time_ms: int,
    cancelled: Collection[bytes] = (),
) -> AllocationUtxo | Refusal:
    """The allocation if every rule passes, else the refusal of the first rule that fails."""
    allocation = locked.get(reference)
    if allocation is None:
        return Refusal(
            "allocation_locked",
            f"allocation {reference} is not locked at the validator: it was released or reclaimed already, "
            "or that output never was an allocation of this schedule; check the reference "
            "(`milestonectl claimable` lists the open ones)",
        )
    pending = in_flight.get(reference)
    if pending is not None:
        return Refusal(
            "not_in_flight",
            f"allocation {reference} is already being released by transaction {pending}, which is not "
            "confirmed yet; wait until it is confirmed, or until it expires and may be rebuilt",
        )
    milestone = allocation.datum.milestone_id
    if milestone in cancelled:
        return Refusal(
            "milestone_cancelled",
            f"milestone {_milestone_text(milestone)!r} of allocation {reference} was cancelled on chain by a "
            "quorum of its oracles: its allocations go back to the admin (`milestonectl milestone cancel`), "
            "never to the beneficiary",
        )
    quorum = quorum_of[milestone]
    if not quorum.verified:
        ignored = f"; {len(quorum.ignored)} signature(s) did not count" if quorum.ignored else ""
        return Refusal(
            "milestone_quorum",
            f"milestone {_milestone_text(milestone)!r} of allocation {reference} has "
            f"{quorum.valid_signatures} "
            f"valid oracle signature(s) of the {quorum.quorum} required{ignored}; "
            f"{quorum.missing_signatures} more oracle(s) must sign it (`milestonectl attest`)",
        )
    vesting = allocation.datum.vesting_time
    if chain_time_ms < vesting:
        return Refusal(
            "vesting",
            f"allocation {reference} vests at {format_timestamp(vesting)}; chain time is "
            f"{format_timestamp(chain_time_ms)}",
            passes_at_ms=vesting,
        )
    return allocation


def check_release(
    definition: ScheduleDefinition,
    schedule_id: bytes,
    requested: Sequence[str],
    locked: Sequence[AllocationUtxo],
    signatures: Mapping[bytes, Iterable[OracleSignature]],
    chain_time_ms: int,
    in_flight: Mapping[str, str],
    cancelled: Collection[bytes] = (),
) -> ReleaseCheck:
    """Apply the rules to each requested allocation reference (`cancelled`: the schedule's milestones
    cancelled on chain)."""
    by_reference = {a.reference: a for a in locked}
    quorum_of = quorums(definition, schedule_id, [a.datum.milestone_id for a in locked], signatures)
    releasable: list[AllocationUtxo] = []
    refusals: list[tuple[str, Refusal]] = []
    for reference in dict.fromkeys(requested):
        verdict = check_allocation(reference, by_reference, in_flight, quorum_of, chain_time_ms, cancelled)
        if isinstance(verdict, Refusal):
            refusals.append((reference, verdict))
        else:
            releasable.append(verdict)
    return ReleaseCheck(tuple(releasable), tuple(refusals))


def nothing_to_release(check: ReleaseCheck, what: str) -> Refusal:
    """One refusal summing up why none of `what` can be released, with the earliest time one will."""
    if not check.refusals:
        return Refusal("allocation_locked", f"{what} has no locked allocation left to release")
    times = [r.passes_at_ms for _, r in check.refusals if r.passes_at_ms is not None]
    _, first = check.refusals[0]
    others = f" (and {len(check.refusals) - 1} more allocation(s) refused)" if len(check.refusals) > 1 else ""
    message = f"nothing of {what} can be released now: {first}{others}"
    return Refusal(first.rule, message, passes_at_ms=min(times) if times else None)


def attestations(
    definition: ScheduleDefinition,
    schedule_id: bytes,
    quorum_of: Mapping[bytes, MilestoneQuorum],
    signatures: Mapping[bytes, Iterable[OracleSignature]],
    milestone_ids: Iterable[bytes],
) -> list[ot.MilestoneAttestation]:
    """The release redeemer's attestations: per milestone, the first `quorum` valid signers by index."""
    index_of = {key: i for i, key in enumerate(definition.oracle_keys)}
    result: list[ot.MilestoneAttestation] = []
    for milestone in sorted(dict.fromkeys(milestone_ids)):
        signers = sorted(quorum_of[milestone].signers, key=index_of.__getitem__)[: definition.quorum]
        by_key = {}
        for signature in signatures.get(milestone, ()):
            if (
                signature.oracle_key in signers
                and signature.oracle_key not in by_key
                and verify_attestation(signature, schedule_id, milestone)
            ):
                by_key[signature.oracle_key] = signature.signature
        valid = {index_of[key]: by_key[key] for key in signers}
        result.append(ot.milestone_attestation(milestone, valid))
    return result


def refuse_unless_deadline(deadline_ms: int, chain_time_ms: int) -> None:
    """Reclaim waits for the reclaim deadline (validity must start at or after it)."""
    if chain_time_ms < deadline_ms:
        raise Refusal(
            "reclaim_deadline",
            f"the reclaim deadline is {format_timestamp(deadline_ms)}; chain time is "
            f"{format_timestamp(chain_time_ms)}, so the admin cannot take back unreleased allocations yet",
            passes_at_ms=deadline_ms,
        )


def in_flight_refs(in_flight: Collection[str] | Mapping[str, str]) -> dict[str, str]:
    """Accept either {reference: tx id} or a plain set of references."""
    if isinstance(in_flight, Mapping):
        return dict(in_flight)
    return {reference: "(a pending transaction)" for reference in in_flight}
