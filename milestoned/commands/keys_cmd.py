"""`milestonectl keys check`: are these key files private enough and well-formed, and if not, the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milestoned.commands.keyfiles import KeyFileReport, check_key_file, key_files_in, permissions_text
from milestoned.commands.output import Column, CommandError, ExitCode, Output, verdict_style


def _report_document(report: KeyFileReport) -> dict[str, Any]:
    envelope = report.envelope
    return {
        "file": str(report.path),
        "ok": report.ok,
        "kind": envelope.kind.value if envelope else None,
        "type": envelope.envelope_type if envelope else None,
        # The PUBLIC key, what goes in a schedule's "oracles"; a signing key's secret is never shown.
        "verification_key": envelope.verification_key.hex() if envelope else None,
        "mode": f"{report.mode & 0o7777:04o}" if report.mode is not None else None,
        "problems": [{"problem": p.problem, "fix": p.fix} for p in report.problems],
    }


def check(paths: list[Path], out: Output) -> int:
    files = key_files_in(paths)
    if not files:
        raise CommandError(
            f"no key files (.skey, .vkey) in {', '.join(str(p) for p in paths)}", "give key files or folders"
        )
    reports = [check_key_file(path) for path in files]
    ok = all(report.ok for report in reports)
    if out.json_mode:
        out.emit_json({"ok": ok, "files": [_report_document(report) for report in reports]})
    else:
        rows = []
        for report in reports:
            kind = report.envelope.kind.value if report.envelope else "?"
            mode = permissions_text(report.mode) if report.mode is not None else "-"
            public = report.envelope.verification_key.hex() if report.envelope else ""
            problems = "\n".join(
                f"{p.problem}\nfix: {p.fix}" if p.fix else p.problem for p in report.problems
            )
            rows.append(
                (str(report.path), kind, mode, "✓ ok" if report.ok else "✗ problem", problems or public)
            )
        out.table(
            "key files",
            (
                Column("file"),
                Column("kind"),
                Column("mode", no_wrap=True),
                Column("check", no_wrap=True),
                Column("verification key / problem and fix"),
            ),
            rows,
        )
        bad = sum(1 for report in reports if not report.ok)
        if bad:
            out.line(f"✗ {bad} of {len(reports)} key files need fixing", style=verdict_style(False))
        else:
            out.line(
                f"✓ all {len(reports)} key files are well-formed and private enough",
                style=verdict_style(True),
            )
    return ExitCode.OK if ok else ExitCode.FAILED
