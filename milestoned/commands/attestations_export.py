"""The attestations file: a schedule and every oracle signature committed for it, as public facts.

WHY: a beneficiary who wants to claim needs exactly two things the daemon knows, the schedule (its
parameters rebuild the scripts) and the committed oracle signatures (the release redeemer carries
them). Neither is secret: the schedule is in the registration's metadata on chain, and a signature only
proves that an oracle attested a milestone. So the daemon exports them as one file that anyone may
hold, and `milestonectl claim` needs that file and an Ogmios endpoint, not the daemon.

    {"format": "milestoned-attestations/v1", "schedule_id": "<56 hex>", "schedule": {...canonical...},
     "attestations": [{"schedule_id", "milestone_id", "oracle_key", "signature"}, ...]}

Reading checks everything it can offline: the schedule is valid and really has that id (derived from
the committed scripts), and every attestation is for it, by one of its oracles, with a valid signature.
Pure apart from deriving the id (which loads the committed script blueprint).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from milestoned.commands.output import CommandError, ExitCode
from milestoned.domain.attestation import OracleSignature, Statement, verify_attestation
from milestoned.domain.attestation_file import Attestation, attestation_document, parse_attestation_document
from milestoned.domain.validation_errors import InputProblem

FORMAT = "milestoned-attestations/v1"
_EXPORT_AGAIN = "export it again: milestonectl attestations export (any member of the daemon's socket group)"


@dataclass(frozen=True)
class AttestationsExport:
    schedule_id: str
    definition: Any  # ScheduleDefinition
    signatures: dict[bytes, list[OracleSignature]]  # by milestone id bytes, what the txbuilder takes


def export_document(
    schedule_id: str, schedule: Mapping[str, Any], attestations: Iterable[Attestation]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "schedule_id": schedule_id,
        "schedule": dict(schedule),
        "attestations": [attestation_document(a) for a in attestations],
    }


def read_export(text: str, source: str) -> AttestationsExport:
    """The export in `text` (from `source`, for messages), every part checked; CommandError if not."""
    from milestoned.commands.schedule_identity import schedule_identity
    from milestoned.domain.schedule_file import parse_schedule_document
    from milestoned.domain.validation_errors import ScheduleValidationError

    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{source} is not JSON: {exc}", _EXPORT_AGAIN) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CommandError(f"{source} is not an attestations export ({FORMAT})", _EXPORT_AGAIN)
    try:
        definition = parse_schedule_document(document.get("schedule"))
    except (ScheduleValidationError, ValueError) as exc:
        raise CommandError(
            f"{source}: its schedule is not valid: {exc}", _EXPORT_AGAIN, ExitCode.FAILED
        ) from None
    schedule_id = schedule_identity(definition).schedule_id
    if schedule_id.hex() != document.get("schedule_id"):
        raise CommandError(
            f"{source}: the schedule in it has id {schedule_id.hex()}, not {document.get('schedule_id')} "
            "(edited, or made by another script version)",
            _EXPORT_AGAIN,
            ExitCode.FAILED,
        )
    oracles = set(definition.oracle_keys)
    signatures: dict[bytes, list[OracleSignature]] = {}
    for number, item in enumerate(document.get("attestations") or [], start=1):
        try:
            attestation = parse_attestation_document(item)
        except InputProblem as exc:
            raise CommandError(
                f"{source}: attestation {number} {exc}", _EXPORT_AGAIN, ExitCode.FAILED
            ) from None
        if (
            attestation.schedule_id != schedule_id
            or attestation.statement is not Statement.ATTEST
            or attestation.signature.oracle_key not in oracles
            or attestation.milestone_id not in definition.milestone_ids
            or not verify_attestation(attestation.signature, schedule_id, attestation.milestone_id)
        ):
            raise CommandError(
                f"{source}: attestation {number} (milestone {attestation.milestone_label!r}) is not a valid "
                "signature of one of this schedule's oracles",
                _EXPORT_AGAIN,
                ExitCode.FAILED,
            )
        signatures.setdefault(attestation.milestone_id, []).append(attestation.signature)
    return AttestationsExport(schedule_id.hex(), definition, signatures)
