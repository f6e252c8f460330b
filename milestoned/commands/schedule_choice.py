"""`milestonectl schedules`, and which schedule a command means when it is not given by id.

WHY: the schedule id (a 56-digit policy id) appeared only in `claimable --json`, yet `release` demanded
it. A command that acts on one schedule now takes `--schedule-id`, or the schedule file (its id is
derived here, as `schedule validate` prints it), or nothing when the daemon has exactly one schedule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, CommandError, ExitCode, Output
from milestoned.commands.socket_client import call


def schedules(socket: Path, out: Output) -> int:
    rows: list[dict[str, Any]] = call(socket, "schedules")
    if out.json_mode:
        out.emit_json({"ok": True, "result": rows})
    elif not rows:
        out.line("no schedules registered: register one with `milestonectl schedule register FILE`")
    else:
        out.table(
            "schedules",
            (
                Column("schedule id", no_wrap=True),
                Column("network"),
                Column("oracles / quorum"),
                Column("allocations"),
                Column("guardians"),
                Column("source"),
                Column("first registration (rebuild from)"),
            ),
            [
                (
                    r["schedule_id"],
                    str(r["network"]),
                    f"{r['oracles']} / {r['quorum']}",
                    str(r["allocations"]),
                    _guardians(r),
                    str(r.get("source", "")),
                    _points(r.get("registered_at"), r.get("rebuild_from")),
                )
                for r in rows
            ],
            caption="`milestoned rebuild --from POINT` rebuilds a lost log from the chain; "
            "`milestonectl recovery card` keeps these points for you",
        )
    return ExitCode.OK


def _guardians(row: dict[str, Any]) -> str:
    """`2 of 3, PAUSED` / `1 of 1, running` / `none` (issue 15)."""
    keys = row.get("guardians") or []
    if not keys:
        return "none"
    return f"{row.get('guardian_threshold')} of {len(keys)}, {'PAUSED' if row.get('paused') else 'running'}"


def _points(registered_at: str | None, rebuild_from: str | None) -> str:
    if registered_at is None:
        return "not seen on chain yet"
    slot = registered_at.split(".")[0]
    return f"slot {slot} ({rebuild_from or 'origin'})"


def chosen_schedule_id(socket: Path, schedule_id: str | None, schedule_file: Path | None) -> str:
    """The schedule a command acts on: the id given, the file's id, or the daemon's only schedule."""
    if schedule_id:
        return schedule_id.strip().lower()
    if schedule_file is not None:
        from milestoned.commands.schedule_identity import schedule_identity
        from milestoned.commands.schedule_source import load_schedule

        return schedule_identity(load_schedule(schedule_file)).schedule_id.hex()
    rows: list[dict[str, Any]] = call(socket, "schedules")
    if len(rows) == 1:
        return str(rows[0]["schedule_id"])
    if not rows:
        raise CommandError(
            "the daemon has no registered schedule",
            "register one first: milestonectl schedule register FILE",
            ExitCode.FAILED,
        )
    listed = ", ".join(str(r["schedule_id"]) for r in rows[:5]) + (" …" if len(rows) > 5 else "")
    raise CommandError(
        f"the daemon has {len(rows)} schedules; say which one: {listed}",
        "pass --schedule-id ID or --schedule FILE (`milestonectl schedules` lists them)",
    )
