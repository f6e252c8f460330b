"""`milestonectl attest sign|verify`: an oracle signs a milestone offline; anyone checks the files.

With `--cancel` the oracle signs instead that the milestone will never be delivered (a cancellation,
a message of its own: it can never be counted as an attestation, nor the reverse), and `verify
--cancel` checks cancellation files the same way.

Signing needs no daemon and no network: the schedule id is derived from the schedule file (or given),
the key is read from the oracle's own `.skey`, and the result is a small JSON file for the admin to
commit. The signing key never leaves this process: it is not printed, logged or written anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milestoned.commands.attestation_review import AttestationVerdict, Verdict, review_attestations
from milestoned.commands.keyfiles import read_signing_key
from milestoned.commands.output import Column, CommandError, ExitCode, Output, verdict_style
from milestoned.commands.schedule_identity import schedule_identity
from milestoned.commands.schedule_source import load_schedule
from milestoned.commands.textfiles import read_text, write_text_atomically
from milestoned.domain.allocation import MAX_MILESTONE_ID_BYTES, milestone_id_bytes
from milestoned.domain.attestation import SCHEDULE_ID_BYTES, Statement, sign_attestation, verify_attestation
from milestoned.domain.attestation_file import (
    Attestation,
    attestation_document,
    attestation_json,
    parse_attestation_json,
)
from milestoned.domain.eligibility import MilestoneQuorum
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.validation_errors import InputProblem

STDOUT_PATH = "-"
_UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SignRequest:
    key_path: Path
    milestone: str
    schedule_path: Path | None = None
    schedule_id_hex: str | None = None
    out: str | None = None  # a path, "-" for stdout, or None for the default file name
    force: bool = False
    statement: Statement = Statement.ATTEST


# --- sign -------------------------------------------------------------------------------------------


def parse_schedule_id(text: str) -> bytes:
    value = text.strip().lower()
    if len(value) != 2 * SCHEDULE_ID_BYTES or not re.fullmatch(r"[0-9a-f]*", value):
        raise CommandError(
            f"--schedule-id must be {2 * SCHEDULE_ID_BYTES} hex digits (the schedule's policy id), "
            f"got {len(text)} characters",
            "copy it from `milestonectl schedule show SCHEDULE.json`, or pass --schedule SCHEDULE.json",
        )
    return bytes.fromhex(value)


def _milestone_bytes(milestone: str) -> bytes:
    encoded = milestone_id_bytes(milestone)
    if not milestone:
        raise CommandError(
            "--milestone is empty", "give the milestone identifier exactly as the schedule has it"
        )
    if len(encoded) > MAX_MILESTONE_ID_BYTES:
        raise CommandError(
            f"--milestone is {len(encoded)} bytes; milestone identifiers have at most "
            f"{MAX_MILESTONE_ID_BYTES}",
            "give the milestone identifier exactly as the schedule has it",
        )
    if milestone.strip() != milestone:
        raise CommandError(
            f"--milestone {milestone!r} starts or ends with whitespace; the signature would be for a "
            "different milestone",
            f"write --milestone {milestone.strip()!r}",
        )
    return encoded


def _known_milestone(definition: ScheduleDefinition, milestone: bytes, schedule_path: Path) -> None:
    if milestone in definition.milestone_ids:
        return
    known = ", ".join(m.decode("utf-8", errors="backslashreplace") for m in definition.milestone_ids)
    raise CommandError(
        f'milestone "{milestone.decode("utf-8", errors="backslashreplace")}" is not in {schedule_path}',
        f"its milestones are: {known} (identifiers are exact, case and spaces included)",
        ExitCode.FAILED,
    )


def default_attestation_path(attestation: Attestation) -> Path:
    slug = _UNSAFE_FILE_CHARACTERS.sub("_", attestation.milestone_label).strip("._") or "milestone"
    kind = "cancellation" if attestation.statement is Statement.CANCEL else "attestation"
    return Path(f"{kind}-{slug}-{attestation.signature.oracle_key.hex()[:8]}.json")


def sign(request: SignRequest, out: Output) -> int:
    milestone = _milestone_bytes(request.milestone)
    definition: ScheduleDefinition | None = None
    if request.schedule_path is not None:
        definition = load_schedule(request.schedule_path)
        _known_milestone(definition, milestone, request.schedule_path)
        schedule_id = schedule_identity(definition).schedule_id
    else:
        schedule_id = parse_schedule_id(request.schedule_id_hex or "")
    seed = read_signing_key(request.key_path)
    signature = sign_attestation(seed, schedule_id, milestone, request.statement)
    del seed
    oracle_index: int | None = None
    if definition is not None:
        if signature.oracle_key not in definition.oracle_keys:
            raise CommandError(
                f"the key in {request.key_path} is not one of the oracles of {request.schedule_path}: its "
                f"verification key {signature.oracle_key.hex()} is not listed there",
                'sign with the .skey whose .vkey the admin put in the schedule\'s "oracles"',
                ExitCode.FAILED,
            )
        oracle_index = definition.oracle_keys.index(signature.oracle_key)
    if not verify_attestation(signature, schedule_id, milestone, request.statement):  # a broken library
        raise CommandError("the signature just made does not verify", "report this as a bug", ExitCode.FAILED)
    attestation = Attestation(schedule_id, milestone, signature, request.statement)
    written = _write_attestation(attestation, request, out)
    report: dict[str, Any] = {
        "ok": True,
        "file": written,
        "attestation": attestation_document(attestation),
        "oracle_index": oracle_index,
        "checked_against_schedule": definition is not None,
    }
    if out.json_mode:
        out.emit_json(report)
    elif written is not None:
        who = f"oracles[{oracle_index}]" if oracle_index is not None else signature.oracle_key.hex()
        signed = "the cancellation of milestone" if request.statement is Statement.CANCEL else "milestone"
        out.line(
            f'✓ signed {signed} "{attestation.milestone_label}" of schedule {schedule_id.hex()} as {who}',
            style="green",
        )
        out.line(f"wrote {written}: give it to the schedule's admin, who commits it to milestoned")
        if definition is None:
            out.line(
                "note: signed without the schedule file, so neither the milestone nor your oracle key were "
                "checked against it; `milestonectl attest verify FILE --schedule SCHEDULE.json` checks both"
            )
    return ExitCode.OK


def _write_attestation(attestation: Attestation, request: SignRequest, out: Output) -> str | None:
    """Write the file (or stdout); returns the path written, None for stdout."""
    text = attestation_json(attestation)
    if request.out == STDOUT_PATH:
        if not out.json_mode:
            out.emit_json(attestation_document(attestation))
        return None
    path = Path(request.out) if request.out else default_attestation_path(attestation)
    if path.exists() and not request.force:
        try:
            same = path.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            raise CommandError(
                f"{path} already exists and holds something else",
                "choose another --out, or pass --force to replace it",
            )
        return str(path)  # ed25519 is deterministic: signing again wrote the same file
    write_text_atomically(path, text)
    return str(path)


# --- verify -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileResult:
    file: str
    verdict: AttestationVerdict | None = None
    unreadable: CommandError | None = None


def _read_attestation(path: Path) -> Attestation:
    text = read_text(path, "attestation file")
    try:
        return parse_attestation_json(text)
    except InputProblem as problem:
        raise CommandError(f"{path}: {problem.problem}", problem.hint, ExitCode.FAILED) from None


def verify(
    files: list[Path],
    schedule_path: Path,
    require_quorum: bool,
    out: Output,
    statement: Statement = Statement.ATTEST,
) -> int:
    definition = load_schedule(schedule_path)
    schedule_id = schedule_identity(definition).schedule_id
    read: list[tuple[Path, Attestation | CommandError]] = []
    for path in files:
        try:
            read.append((path, _read_attestation(path)))
        except CommandError as error:
            read.append((path, error))
    attestations = [item for _, item in read if isinstance(item, Attestation)]
    review = review_attestations(
        attestations, definition=definition, schedule_id=schedule_id, statement=statement
    )
    verdicts = iter(review.verdicts)
    results = [
        _FileResult(str(path), unreadable=item)
        if isinstance(item, CommandError)
        else _FileResult(str(path), next(verdicts))
        for path, item in read
    ]
    attested = {
        a.milestone_id for a in attestations if a.schedule_id == schedule_id and a.statement is statement
    }
    short = [m for m in review.milestones if m.milestone_id in attested and not m.verified]
    accepted = all(r.verdict is not None and r.verdict.verdict.accepted for r in results)
    ok = accepted and not (require_quorum and short)
    report = {
        "ok": ok,
        "schedule": str(schedule_path),
        "schedule_id": schedule_id.hex(),
        "quorum_threshold": definition.quorum,
        "statement": statement.word,
        "attestations": [_result_document(r) for r in results],
        "milestones": [_quorum_document(m) for m in review.milestones],
    }
    if out.json_mode:
        out.emit_json(report)
    else:
        _render_verify(out, report, require_quorum, short)
    if any(r.unreadable is not None and r.unreadable.exit_code is ExitCode.USAGE for r in results):
        return ExitCode.USAGE
    return ExitCode.OK if ok else ExitCode.FAILED


def _result_document(result: _FileResult) -> dict[str, Any]:
    if result.unreadable is not None:
        return {
            "file": result.file,
            "verdict": Verdict.UNREADABLE.value,
            "accepted": False,
            "explanation": result.unreadable.message,
            "hint": result.unreadable.hint,
            "milestone_id": None,
            "oracle_key": None,
            "oracle_index": None,
        }
    assert result.verdict is not None
    verdict = result.verdict
    return {
        "file": result.file,
        "verdict": verdict.verdict.value,
        "accepted": verdict.verdict.accepted,
        "explanation": verdict.explanation,
        "hint": verdict.hint,
        "milestone_id": verdict.attestation.milestone_label,
        "oracle_key": verdict.attestation.signature.oracle_key.hex(),
        "oracle_index": verdict.oracle_index,
    }


def _quorum_document(quorum: MilestoneQuorum) -> dict[str, Any]:
    return {
        "milestone_id": quorum.milestone_id.decode("utf-8", errors="backslashreplace"),
        "quorum_threshold": quorum.quorum,
        "valid_signatures": quorum.valid_signatures,
        "missing_signatures": quorum.missing_signatures,
        "status": quorum.status.value,
        "signers": [key.hex() for key in quorum.signers],
    }


def _files_word(report: dict[str, Any]) -> str:
    return "cancellation" if report["statement"] == Statement.CANCEL.word else "attestation"


def _render_verify(
    out: Output, report: dict[str, Any], require_quorum: bool, short: list[MilestoneQuorum]
) -> None:
    out.table(
        f"{_files_word(report)} for schedule {report['schedule_id']}",
        (
            Column("file"),
            Column("milestone"),
            Column("oracle"),
            Column("verdict", no_wrap=True),
            Column("detail"),
        ),
        (
            (
                a["file"],
                a["milestone_id"] or "",
                f"oracles[{a['oracle_index']}]"
                if a["oracle_index"] is not None
                else (a["oracle_key"] or "")[:16],
                ("✓ " if a["accepted"] else "✗ ") + a["verdict"],
                a["explanation"] + (f" — fix: {a['hint']}" if a["hint"] and not a["accepted"] else ""),
            )
            for a in report["attestations"]
        ),
    )
    out.table(
        f"quorum per milestone ({report['quorum_threshold']} signatures needed)",
        (
            Column("milestone", style="bold"),
            Column("valid signatures"),
            Column("status", no_wrap=True),
            Column(""),
        ),
        (
            (
                m["milestone_id"],
                f"{m['valid_signatures']} (quorum {m['quorum_threshold']})",
                m["status"],
                f"needs {m['missing_signatures']} more" if m["missing_signatures"] else "verified",
            )
            for m in report["milestones"]
        ),
    )
    rejected = sum(1 for a in report["attestations"] if not a["accepted"])
    total = len(report["attestations"])
    if rejected:
        out.line(f"✗ {rejected} of {total} {_files_word(report)} files rejected", style=verdict_style(False))
    else:
        out.line(f"✓ all {total} {_files_word(report)} files are valid", style=verdict_style(True))
    if require_quorum and short:
        names = ", ".join(m.milestone_id.decode("utf-8", errors="backslashreplace") for m in short)
        out.line(f"✗ quorum not reached for: {names}", style=verdict_style(False))
