"""`milestonectl schedule validate|show`: check a schedule file, and show what it will put on chain.

Both read the file the way the daemon will (the domain reader, `.vkey` paths relative to the file) and
derive the schedule id from the committed scripts, so what an admin sees here is what registration
will use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, CommandError, ExitCode, Output
from milestoned.commands.schedule_identity import schedule_identity
from milestoned.commands.schedule_source import ScheduleFileInvalid, read_schedule
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_guardians import format_out_ref
from milestoned.domain.timestamps import format_timestamp
from milestoned.domain.validation_errors import FieldError

PATHS_NOTE = (
    "Paths count list entries from 0, so beneficiary_allocations[3] is the fourth allocation. "
    "Fix them all and validate again; the format is described in docs/schedule-format.md."
)


def field_error_document(error: FieldError) -> dict[str, str]:
    return {"path": error.path, "location": error.location, "message": error.message, "hint": error.hint}


def render_schedule_errors(out: Output, path: Path, errors: tuple[FieldError, ...]) -> None:
    """The table of every problem of a schedule file (people only; JSON callers get the documents)."""
    count = "1 error" if len(errors) == 1 else f"{len(errors)} errors"
    out.table(
        f"{path}: {count}",
        (Column("#", no_wrap=True), Column("path", style="bold"), Column("problem"), Column("how to fix")),
        ((str(number), error.location, error.message, error.hint) for number, error in enumerate(errors, 1)),
        caption=PATHS_NOTE,
    )


def validate(path: Path, out: Output) -> int:
    reading = read_schedule(path)
    report: dict[str, Any] = {
        "ok": reading.definition is not None,
        "file": str(path),
        "valid": reading.definition is not None,
        "error_count": len(reading.errors),
        "errors": [field_error_document(error) for error in reading.errors],
    }
    if reading.definition is None:
        if out.json_mode:
            out.emit_json(report)
        else:
            render_schedule_errors(out, path, reading.errors)
        return ExitCode.FAILED
    definition = reading.definition
    try:
        schedule_id: str | None = schedule_identity(definition).schedule_id.hex()
        id_problem = ""
    except CommandError as error:  # the file is valid; only the scripts to derive its id are missing
        schedule_id, id_problem = None, error.message
    report["schedule_id"] = schedule_id
    if id_problem:
        report["schedule_id_error"] = id_problem
    report["summary"] = _summary(definition)
    report["warnings"] = timing_warnings(definition)
    if out.json_mode:
        out.emit_json(report)
        return ExitCode.OK
    summary = report["summary"]
    out.line(
        f"✓ {path} is a valid {definition.network.value} schedule: {len(definition.oracle_keys)} oracles, "
        f"quorum {definition.quorum}, {summary['milestone_count']} milestones, "
        f"{summary['allocation_count']} allocations, {definition.total_amount} token units in total",
        style="green",
    )
    out.line(f"schedule id: {schedule_id}" if schedule_id else f"schedule id: unavailable ({id_problem})")
    for warning in report["warnings"]:
        out.line(f"warning: {warning}", style="yellow")
    return ExitCode.OK


def timing_warnings(definition: ScheduleDefinition) -> list[str]:
    """Warnings about times already past, by this machine's clock (the chain's is close to it)."""
    import time

    from milestoned.domain.schedule_timing import timing_notes

    return timing_notes(definition, int(time.time() * 1000)).warnings()


def _summary(definition: ScheduleDefinition) -> dict[str, Any]:
    return {
        "network": definition.network.value,
        "oracle_count": len(definition.oracle_keys),
        "quorum_threshold": definition.quorum,
        "milestone_count": len(definition.milestone_ids),
        "allocation_count": len(definition.allocations),
        "total_amount": definition.total_amount,
    }


def show(path: Path, out: Output) -> int:
    reading = read_schedule(path)
    if reading.definition is None:
        raise ScheduleFileInvalid(path, reading.errors)
    report = schedule_report(path, reading.definition)
    if out.json_mode:
        out.emit_json(report)
    else:
        _render_show(out, report)
    return ExitCode.OK


def _token_name_text(asset_name: bytes) -> str | None:
    try:
        text = asset_name.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def schedule_report(path: Path, definition: ScheduleDefinition) -> dict[str, Any]:
    """Everything `schedule show` says about a valid schedule, JSON-ready."""
    identity = schedule_identity(definition)
    token = definition.token
    milestones = []
    for milestone in definition.milestone_ids:
        allocations = list(definition.allocations_for(milestone))
        vesting = [a.vesting_time_ms for a in allocations]
        milestones.append(
            {
                "milestone_id": allocations[0].milestone_label,
                "allocation_count": len(allocations),
                "beneficiary_count": len({a.beneficiary_address for a in allocations}),
                "total_amount": sum(a.token_amount for a in allocations),
                "first_vesting": format_timestamp(min(vesting)),
                "last_vesting": format_timestamp(max(vesting)),
            }
        )
    return {
        "ok": True,
        "file": str(path),
        "network": definition.network.value,
        "schedule_id": identity.schedule_id.hex(),
        "auth_token_policy_id": identity.schedule_id.hex(),
        "validator_hash": identity.validator_hash.hex(),
        "validator_address": identity.validator_address,
        "admin_key_hash": definition.admin_key_hash.hex(),
        "token": {
            "policy_id": token.policy_id.hex(),
            "asset_name": token.asset_name.hex(),
            "asset_name_text": _token_name_text(token.asset_name),
            "unit": token.unit,
        },
        "oracles": [{"index": index, "key": key.hex()} for index, key in enumerate(definition.oracle_keys)],
        "quorum_threshold": definition.quorum,
        "guardians": [key.hex() for key in definition.guardian_keys],
        "guardian_threshold": definition.guardian_threshold,
        "state_seed": format_out_ref(definition.guardian_seed) if definition.has_guardians else None,
        "reclaim_deadline": format_timestamp(definition.reclaim_deadline_ms),
        "reclaim_deadline_ms": definition.reclaim_deadline_ms,
        "nonce": definition.nonce.hex(),
        "total_amount": definition.total_amount,
        "milestones": milestones,
        "allocations": [
            {
                "index": index,
                "beneficiary_address": allocation.beneficiary_address,
                "token_amount": allocation.token_amount,
                "milestone_id": allocation.milestone_label,
                "vesting_timestamp": format_timestamp(allocation.vesting_time_ms),
                "vesting_time_ms": allocation.vesting_time_ms,
            }
            for index, allocation in enumerate(definition.allocations)
        ],
    }


def _render_show(out: Output, report: dict[str, Any]) -> None:
    token = report["token"]
    name = (
        f'"{token["asset_name_text"]}" ({token["asset_name"]})'
        if token["asset_name_text"]
        else token["asset_name"]
    )
    out.fields(
        f"schedule {report['file']}",
        (
            ("network", report["network"]),
            ("schedule id", report["schedule_id"]),
            ("auth token policy", f"{report['auth_token_policy_id']} (= the schedule id)"),
            ("validator address", report["validator_address"]),
            ("validator hash", report["validator_hash"]),
            ("admin key hash", report["admin_key_hash"]),
            ("token policy id", token["policy_id"]),
            ("token name", name or "(empty)"),
            ("quorum", f"{report['quorum_threshold']} of {len(report['oracles'])} oracles"),
            (
                "guardians (pause)",
                f"{report['guardian_threshold']} of {', '.join(report['guardians'])}"
                if report["guardians"]
                else "none: releases cannot be paused",
            ),
            *(
                (("state seed", f"{report['state_seed']} (spent by the state's creation)"),)
                if report["state_seed"]
                else ()
            ),
            ("reclaim deadline", report["reclaim_deadline"]),
            ("nonce", report["nonce"]),
            ("total locked", f"{report['total_amount']} token units"),
        ),
    )
    out.table(
        "oracles",
        (Column("#", no_wrap=True), Column("ed25519 verification key", no_wrap=True)),
        ((str(o["index"]), o["key"]) for o in report["oracles"]),
    )
    out.table(
        "milestones",
        (
            Column("milestone", style="bold"),
            Column("allocations"),
            Column("beneficiaries"),
            Column("total", style="cyan"),
            Column("first vesting"),
            Column("last vesting"),
        ),
        (
            (
                m["milestone_id"],
                str(m["allocation_count"]),
                str(m["beneficiary_count"]),
                str(m["total_amount"]),
                m["first_vesting"],
                m["last_vesting"],
            )
            for m in report["milestones"]
        ),
    )
    out.table(
        "allocations",
        (
            Column("#", no_wrap=True),
            Column("beneficiary", no_wrap=True),
            Column("amount", style="cyan"),
            Column("milestone"),
            Column("vesting"),
        ),
        (
            (
                str(a["index"]),
                a["beneficiary_address"],
                str(a["token_amount"]),
                a["milestone_id"],
                a["vesting_timestamp"],
            )
            for a in report["allocations"]
        ),
    )
