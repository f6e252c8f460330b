"""Judging attestation files against a schedule: one verdict per file, one quorum status per milestone.

The files are judged for one statement: attestations (the milestone is delivered) or, with
`attest verify --cancel`, cancellations (it never will be); a file of the other statement is named as
such, never counted.

The quorum count itself is the domain's (`eligibility.milestone_quorum`), the same rule the daemon and
the on-chain policy apply; this module adds the per-file reading an admin needs before committing files:
which one is for another schedule, names a milestone the schedule does not have, comes from a key that
is not an oracle, or does not verify, each with what to do about it. Pure: no files, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from milestoned.domain.attestation import Statement, verify_attestation
from milestoned.domain.attestation_file import Attestation
from milestoned.domain.eligibility import MilestoneQuorum, milestone_quorum
from milestoned.domain.schedule import ScheduleDefinition


class Verdict(StrEnum):
    VALID = "valid"
    DUPLICATE = "duplicate"  # valid, but this oracle already signed this milestone: counted once
    OTHER_SCHEDULE = "other_schedule"
    OTHER_STATEMENT = "other_statement"  # a cancellation where attestations are judged, or the reverse
    UNKNOWN_MILESTONE = "unknown_milestone"
    UNKNOWN_ORACLE = "unknown_oracle"
    INVALID_SIGNATURE = "invalid_signature"
    UNREADABLE = "unreadable"  # the file could not be read as an attestation (set by the shell)

    @property
    def accepted(self) -> bool:
        return self in (Verdict.VALID, Verdict.DUPLICATE)


@dataclass(frozen=True)
class AttestationVerdict:
    attestation: Attestation
    verdict: Verdict
    explanation: str
    hint: str = ""
    oracle_index: int | None = None  # the signer's position in the schedule's oracle list


@dataclass(frozen=True)
class AttestationReview:
    verdicts: tuple[AttestationVerdict, ...]  # in the order given
    milestones: tuple[MilestoneQuorum, ...]  # every milestone of the schedule, in schedule order

    @property
    def all_accepted(self) -> bool:
        return all(verdict.verdict.accepted for verdict in self.verdicts)


def review_attestations(
    attestations: Sequence[Attestation],
    *,
    definition: ScheduleDefinition,
    schedule_id: bytes,
    statement: Statement = Statement.ATTEST,
) -> AttestationReview:
    oracle_index = {key: index for index, key in enumerate(definition.oracle_keys)}
    milestones = definition.milestone_ids
    counted: set[tuple[bytes, bytes]] = set()
    verdicts: list[AttestationVerdict] = []
    for attestation in attestations:
        verdict = _judge(attestation, statement, schedule_id, milestones, oracle_index, counted)
        if verdict.verdict is Verdict.VALID:
            counted.add((attestation.milestone_id, attestation.signature.oracle_key))
        verdicts.append(verdict)
    quorums = tuple(
        milestone_quorum(
            schedule_id,
            milestone,
            [
                a.signature
                for a in attestations
                if a.schedule_id == schedule_id and a.milestone_id == milestone and a.statement is statement
            ],
            oracle_keys=definition.oracle_keys,
            quorum=definition.quorum,
            statement=statement,
        )
        for milestone in milestones
    )
    return AttestationReview(tuple(verdicts), quorums)


def _judge(
    attestation: Attestation,
    statement: Statement,
    schedule_id: bytes,
    milestones: Sequence[bytes],
    oracle_index: dict[bytes, int],
    counted: set[tuple[bytes, bytes]],
) -> AttestationVerdict:
    key = attestation.signature.oracle_key
    index = oracle_index.get(key)
    if attestation.statement is not statement:
        said = "a cancellation" if attestation.statement is Statement.CANCEL else "an attestation"
        judged = "cancellations" if statement is Statement.CANCEL else "attestations"
        return AttestationVerdict(
            attestation,
            Verdict.OTHER_STATEMENT,
            f'is {said} of milestone "{attestation.milestone_label}", and {judged} are checked here; '
            "it never counts as one",
            "verify it with `milestonectl attest verify --cancel`"
            if attestation.statement is Statement.CANCEL
            else "verify it with `milestonectl attest verify` (without --cancel)",
            index,
        )
    if attestation.schedule_id != schedule_id:
        return AttestationVerdict(
            attestation,
            Verdict.OTHER_SCHEDULE,
            f"signed for schedule {attestation.schedule_id.hex()}, not this schedule "
            f"({schedule_id.hex()}); it can never count here",
            "check that you gave the right --schedule; otherwise ask the oracle to sign again with "
            "`milestonectl attest sign --schedule <this schedule file>`",
            index,
        )
    if attestation.milestone_id not in milestones:
        known = ", ".join(m.decode("utf-8", errors="backslashreplace") for m in milestones)
        return AttestationVerdict(
            attestation,
            Verdict.UNKNOWN_MILESTONE,
            f'milestone "{attestation.milestone_label}" is not in this schedule',
            f"the schedule's milestones are: {known} (identifiers are exact, case and spaces included)",
            index,
        )
    if index is None:
        return AttestationVerdict(
            attestation,
            Verdict.UNKNOWN_ORACLE,
            f"signed by {key.hex()}, which is not one of this schedule's {len(oracle_index)} oracles",
            'only keys listed under "oracles" in the schedule count; check the oracle signed with the key '
            "whose .vkey is in the schedule",
        )
    if not verify_attestation(attestation.signature, schedule_id, attestation.milestone_id, statement):
        return AttestationVerdict(
            attestation,
            Verdict.INVALID_SIGNATURE,
            f"the signature is not oracles[{index}]'s signature of milestone "
            f'"{attestation.milestone_label}" of this schedule',
            "the file was changed after signing, or signed other data: ask the oracle to sign again",
            index,
        )
    if (attestation.milestone_id, key) in counted:
        return AttestationVerdict(
            attestation,
            Verdict.DUPLICATE,
            f"valid, but oracles[{index}] already signed this milestone in an earlier file; counted once",
            "one file per oracle and milestone is enough",
            index,
        )
    return AttestationVerdict(attestation, Verdict.VALID, f"valid signature by oracles[{index}]", "", index)
