"""Checking a milestone's cancellation before it is used: the files the oracles signed, judged as the
schedule policy's `Cancel` redeemer will judge them (issue 15, point 1).

A cancellation lets the admin take a milestone's allocations back at once, before the reclaim deadline,
so the daemon checks every file first and refuses the whole request on the first doubt, naming the file
and what to do: nobody pays a fee (nor risks a collateral) to learn from the script that a file was an
attestation, was signed for another milestone or schedule, or that the quorum is not there. Counted like
the policy counts: distinct known oracles with a valid signature over `milestoned/cancel/v1 || schedule
id || milestone id`; the redeemer then carries exactly `quorum` of them, in ascending oracle index.

Pure: parsed files and the schedule's rules in, a verified cancellation or `CancellationRefused` out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from milestoned.domain.attestation import Statement, verify_attestation
from milestoned.domain.attestation_file import Attestation

SIGN_CANCELLATION = (
    "`milestonectl attest sign --cancel --schedule-id ID --milestone MILESTONE --key ORACLE.skey`"
)


class CancellationRefused(ValueError):
    """The cancellation cannot be used; `problems` names each file that is wrong, `hint` says what to do."""

    def __init__(self, message: str, hint: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.hint = hint
        self.problems = tuple(problems)


@dataclass(frozen=True)
class VerifiedCancellation:
    """A milestone's cancellation as the policy's `Cancel` redeemer carries it."""

    schedule_id: bytes
    milestone_id: bytes
    signatures: tuple[tuple[int, bytes], ...]
    """(oracle index, signature): exactly `quorum` of them, in ascending oracle index."""
    valid_signers: int
    """Distinct known oracles whose cancellation signature verified (at least the quorum)."""

    @property
    def oracle_indices(self) -> tuple[int, ...]:
        return tuple(index for index, _ in self.signatures)


def label(milestone_id: bytes) -> str:
    return milestone_id.decode("utf-8", errors="backslashreplace")


def _known(milestones: Collection[bytes]) -> str:
    return ", ".join(repr(label(m)) for m in sorted(milestones))


def verify_cancellation(
    files: Sequence[Attestation],
    *,
    schedule_id: bytes,
    milestone_id: bytes,
    milestones: Collection[bytes],
    oracle_keys: Sequence[bytes],
    quorum: int,
) -> VerifiedCancellation:
    """The cancellation of `milestone_id` of schedule `schedule_id` that `files` prove, or
    `CancellationRefused` naming every file that is wrong (files are numbered from 1, as given).

    A second file by the same oracle counts once and is no error (the same file given twice)."""
    name = label(milestone_id)
    if milestone_id not in milestones:
        raise CancellationRefused(
            f"schedule {schedule_id.hex()} has no milestone {name!r} (its milestones: {_known(milestones)})",
            "name one of the schedule's milestones, spelt as in the schedule file (`milestonectl milestones "
            "--schedule-id ID` lists them)",
        )
    if not files:
        raise CancellationRefused(
            f"no cancellation file for milestone {name!r}",
            f"give the files {quorum} of the schedule's oracles signed with {SIGN_CANCELLATION}",
        )
    index_of = {key: index for index, key in enumerate(oracle_keys)}
    problems: list[str] = []
    valid: dict[int, bytes] = {}
    for number, file in enumerate(files, start=1):
        problem = _problem(file, schedule_id, milestone_id, milestones, index_of)
        if problem is not None:
            problems.append(f"cancellation file {number} {problem}")
            continue
        valid.setdefault(index_of[file.signature.oracle_key], file.signature.signature)
    if problems:
        raise CancellationRefused(
            f"{len(problems)} of {len(files)} cancellation file(s) refused; nothing was built: "
            + "; ".join(problems),
            "leave out or replace the refused files (`milestonectl attest verify --cancel FILE... --schedule "
            "SCHEDULE` explains each one offline) and cancel again",
            problems,
        )
    if len(valid) < quorum:
        raise CancellationRefused(
            f"milestone {name!r} has {len(valid)} valid cancellation signature(s) of distinct oracles, of "
            f"the {quorum} required; nothing was built",
            f"{quorum - len(valid)} more of the schedule's oracles must sign its cancellation "
            f"({SIGN_CANCELLATION}); then give all the files together",
        )
    used = tuple(sorted(valid.items())[:quorum])
    return VerifiedCancellation(schedule_id, milestone_id, used, len(valid))


def _problem(
    file: Attestation,
    schedule_id: bytes,
    milestone_id: bytes,
    milestones: Collection[bytes],
    index_of: dict[bytes, int],
) -> str | None:
    """Why one file cannot count toward this cancellation, or None when it counts."""
    if file.statement is not Statement.CANCEL:
        return (
            f"is an attestation of milestone {file.milestone_label!r} (`attest sign`), not a cancellation: "
            f"it can never cancel a milestone; the oracle signs a cancellation with {SIGN_CANCELLATION}"
        )
    if file.schedule_id != schedule_id:
        return (
            f"is for schedule {file.schedule_id.hex()}, not {schedule_id.hex()}: give the files signed "
            "for this schedule"
        )
    if file.milestone_id not in milestones:
        return (
            f"cancels milestone {file.milestone_label!r}, which this schedule does not have (its milestones: "
            f"{_known(milestones)}): the oracle signed for a misspelt or another schedule's milestone; ask "
            f"for the cancellation of {label(milestone_id)!r} signed again with {SIGN_CANCELLATION}"
        )
    if file.milestone_id != milestone_id:
        return (
            f"cancels milestone {file.milestone_label!r}, not {label(milestone_id)!r}: cancel each milestone "
            "with its own files"
        )
    key = file.signature.oracle_key
    if key not in index_of:
        return f"is signed by key {key.hex()}, which is not one of the schedule's {len(index_of)} oracles"
    if not verify_attestation(file.signature, schedule_id, milestone_id, Statement.CANCEL):
        return (
            f"has a signature that does not verify: oracle {key.hex()[:16]}… did not sign the cancellation "
            f"of {label(milestone_id)!r} of this schedule (an altered file)"
        )
    return None
