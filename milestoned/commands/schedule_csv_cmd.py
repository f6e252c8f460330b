"""`milestonectl schedule from-csv|to-csv`: build a schedule file from a recipients spreadsheet, and back.

The rules live in `milestoned.domain.schedule_csv`; this module reads and writes the files. The new
schedule file is written only when every row is valid, and never over an existing file unless asked,
so a mistyped `--out` cannot destroy a schedule that was already checked or registered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, CommandError, ExitCode, Output
from milestoned.commands.schedule_cmd import field_error_document
from milestoned.commands.schedule_source import key_file_loader, load_schedule
from milestoned.commands.textfiles import SCHEDULE_MAX_BYTES, read_text
from milestoned.domain.schedule_csv import recipients_csv, recipients_document
from milestoned.domain.schedule_json import load_schedule_json
from milestoned.domain.validation_errors import FieldError, ScheduleValidationError

RECIPIENTS_MAX_BYTES = 16 * 1024 * 1024  # ~100,000 rows; a larger round is several schedules


def from_csv(
    csv_path: Path, base_path: Path, out_path: Path, total: int | None, force: bool, out: Output
) -> int:
    """Write the schedule of `base_path` with the recipients of `csv_path` to `out_path`."""
    if out_path.exists() and not force:
        raise CommandError(
            f"{out_path} already exists",
            "choose another --out, or add --force to replace it",
        )
    _refuse_oversized(csv_path)
    csv_text = read_text(csv_path, "recipients CSV", RECIPIENTS_MAX_BYTES)
    base = _read_base(base_path)
    reading = recipients_document(
        csv_text,
        base,
        total_amount=total,
        base_name=str(base_path),
        load_key_file=key_file_loader(base_path),
    )
    if reading.document is None:
        return _report_errors(out, csv_path, reading.errors)
    document = _keys_relative_to(reading.document, base_path.parent, out_path.parent)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_name(out_path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(out_path)
    count = len(document["beneficiary_allocations"])
    total_units = sum(int(item["token_amount"]) for item in document["beneficiary_allocations"])
    if out.json_mode:
        out.emit_json({"ok": True, "file": str(out_path), "allocation_count": count, "total": total_units})
    else:
        out.line(f"✓ wrote {out_path}: {count} allocations, {total_units} token units", style="green")
        out.line(f"next: milestonectl schedule validate {out_path}")
    return ExitCode.OK


def to_csv(schedule_path: Path, out_path: Path | None, force: bool, out: Output) -> int:
    """The allocations of a valid schedule file as recipients CSV, to `out_path` or stdout."""
    text = recipients_csv(load_schedule(schedule_path))
    if out_path is None:
        print(text, end="")
        return ExitCode.OK
    if out_path.exists() and not force:
        raise CommandError(f"{out_path} already exists", "choose another --out, or add --force to replace it")
    out_path.write_text(text, encoding="utf-8")
    if out.json_mode:
        out.emit_json({"ok": True, "file": str(out_path), "rows": text.count("\n") - 1})
    else:
        out.line(f"✓ wrote {out_path}", style="green")
    return ExitCode.OK


def _refuse_oversized(path: Path) -> None:
    """A recipients file past the cap is named with its size and what to do, before it is read."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # read_text names the problem
    if size > RECIPIENTS_MAX_BYTES:
        raise CommandError(
            f"recipients CSV {path} is {size / 1e6:.1f} MB; at most {RECIPIENTS_MAX_BYTES // 2**20} MiB "
            "(about 100,000 rows) is read",
            "check it is the file you meant (a CSV row is about 150 bytes), or split the recipients over "
            "several schedules",
            ExitCode.FAILED,
        )


def _read_base(path: Path) -> dict[str, Any]:
    """The base schedule document: every field but the allocations (those present are replaced)."""
    try:
        document = load_schedule_json(read_text(path, "base schedule file", SCHEDULE_MAX_BYTES))
    except ScheduleValidationError as invalid:
        raise CommandError(
            f"base schedule file {path}: {invalid.errors[0].message}", invalid.errors[0].hint
        ) from None
    if not isinstance(document, dict):
        raise CommandError(
            f"base schedule file {path} is not a JSON object",
            "write the schedule's fields (network, admin, token, oracles, quorum_threshold, "
            "reclaim_deadline) as in examples/schedule.json, without beneficiary_allocations",
        )
    return document


def _keys_relative_to(document: dict[str, Any], base_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Oracle `.vkey` paths rewritten so they still name the same files from the output's folder."""
    oracles = document.get("oracles")
    if not isinstance(oracles, list) or base_dir.resolve() == out_dir.resolve():
        return document
    moved: list[object] = []
    for entry in oracles:
        if isinstance(entry, str) and not Path(entry).is_absolute() and (base_dir / entry).is_file():
            moved.append(os.path.relpath((base_dir / entry).resolve(), out_dir.resolve()))
        else:
            moved.append(entry)
    return {**document, "oracles": moved}


def _report_errors(out: Output, path: Path, errors: tuple[FieldError, ...]) -> int:
    if out.json_mode:
        out.emit_json(
            {
                "ok": False,
                "file": str(path),
                "error_count": len(errors),
                "errors": [field_error_document(error) for error in errors],
            }
        )
        return ExitCode.FAILED
    count = "1 error" if len(errors) == 1 else f"{len(errors)} errors"
    out.table(
        f"{path}: {count}; nothing was written",
        (Column("#", no_wrap=True), Column("where", style="bold"), Column("problem"), Column("how to fix")),
        ((str(number), error.location, error.message, error.hint) for number, error in enumerate(errors, 1)),
        caption="Rows count from 1 with the header as row 1, as a spreadsheet shows them.",
    )
    return ExitCode.FAILED
