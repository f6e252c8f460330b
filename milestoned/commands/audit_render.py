"""How `milestonectl audit` shows its findings: rich tables for people, and a self-contained HTML report.

Why an HTML file: an auditor archives the report with the engagement's papers, so it must open anywhere,
years later, offline: one file, the web view's style sheet inline, no script, font or image from
elsewhere. It carries the
machine-readable report too (the `--json` document, in a `<script type="application/json">` block that
browsers do not run), and, with `--against-log`, the log's head position and hash, which pin the exact
log that was compared.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from milestoned.commands.output import Column, Output, verdict_style
from milestoned.domain.timestamps import format_timestamp
from milestoned.web import templates
from milestoned.web.routes import static_file

if TYPE_CHECKING:
    from milestoned.commands.audit_cmd import AuditRun
    from milestoned.indexer.audit_report import ScheduleAudit


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _tip(run: AuditRun) -> str:
    return "—" if run.tip is None else f"slot {run.tip.slot} ({run.tip.header_hash})"


def _start(run: AuditRun) -> str:
    return "origin" if run.start.is_origin else f"slot {run.start.slot} ({run.start.header_hash})"


def summary_pairs(run: AuditRun) -> list[tuple[str, str]]:
    report = run.report
    pairs = [
        ("verdict", "every schedule reconciles" if run.ok else "DIFFERENCES FOUND"),
        ("network", run.network),
        ("read from", _start(run)),
        ("read to (tip)", _tip(run)),
        ("blocks read", str(run.blocks)),
        ("rollbacks met", str(report.rollbacks)),
        ("schedules", str(len(report.schedules))),
        ("registrations refused", str(len(report.rejections))),
        (
            "still locked checked against the ledger",
            "yes" if report.ledger_checked else "no (the ledger could not be asked)",
        ),
    ]
    if run.comparison is not None:
        head = "—" if run.log_head is None else f"position {run.log_head[0]}, hash {run.log_head[1]}"
        pairs += [
            ("compared with log", run.log_source),
            ("log head", head),
            ("log differences", str(len(run.comparison.differences))),
            ("facts compared / not", f"{run.comparison.compared} / {run.comparison.not_compared}"),
            ("schedules the log does not follow", str(len(run.comparison.not_followed))),
        ]
    return pairs


def schedule_pairs(schedule: ScheduleAudit) -> list[tuple[str, str]]:
    definition = schedule.definition
    token = definition.get("token", {})
    registration = ", ".join(f"{t['tx_id']} @ slot {t['slot']}" for t in schedule.registration)
    return [
        ("verdict", "reconciles" if schedule.ok else f"{len(schedule.flags)} difference(s)"),
        ("definition derives the policy id", _yes(schedule.derives)),
        ("network", str(definition.get("network", ""))),
        ("admin key hash", str(definition.get("admin", ""))),
        ("token", f"{token.get('token_policy_id', '')}.{token.get('token_name', '')}"),
        ("oracles", ", ".join(definition.get("oracles", []))),
        ("quorum", str(definition.get("quorum_threshold", ""))),
        ("reclaim deadline", str(definition.get("reclaim_deadline", ""))),
        ("registration transactions", registration),
    ]


def allocation_rows(schedule: ScheduleAudit, *, short: bool = False) -> list[list[str]]:
    """One row per allocation; `short` cuts transaction ids (a terminal), the HTML keeps them whole."""
    return [
        [
            _short_ref(life.out_ref) if short else life.out_ref,
            life.beneficiary,
            life.milestone,
            str(life.amount),
            format_timestamp(life.vesting_time_ms),
            f"{life.locked_tx[:16]}… @ {life.locked_slot}",
            life.state,
            "" if life.spent_tx is None else f"{life.spent_tx[:16]}… @ {life.spent_slot}",
        ]
        for life in schedule.allocations
    ]


def _short_ref(out_ref: str) -> str:
    tx_id, index = out_ref.split("#")
    return f"{tx_id[:16]}…#{index}"


ALLOCATION_HEADERS = ("allocation", "beneficiary", "milestone", "amount", "vests", "locked", "state", "spent")
ATTESTATION_HEADERS = ("milestone", "release tx", "slot", "oracle keys (signatures verified)", "quorum")
PAYMENT_HEADERS = ("release tx", "slot", "paid to", "tokens", "lovelace")
BALANCE_HEADERS = (
    "beneficiary",
    "defined",
    "allocated",
    "released",
    "reclaimed",
    "still locked",
    "paid",
    "moved in",
    "moved out",
    "ok",
)


def attestation_rows(schedule: ScheduleAudit) -> list[list[str]]:
    return [
        [
            a.milestone,
            a.tx_id,
            str(a.slot),
            ", ".join(a.oracle_keys) + (f" (invalid: {', '.join(a.invalid)})" if a.invalid else ""),
            f"{len(a.oracle_keys)}/{a.quorum} {'reached' if a.reached else 'NOT reached'}",
        ]
        for a in schedule.attestations
    ]


def payment_rows(schedule: ScheduleAudit) -> list[list[str]]:
    return [[p.tx_id, str(p.slot), p.address, str(p.amount), str(p.lovelace)] for p in schedule.payments]


def balance_rows(schedule: ScheduleAudit) -> list[list[str]]:
    return [
        [
            b.beneficiary,
            str(b.defined),
            str(b.allocated),
            str(b.released),
            str(b.reclaimed),
            str(b.still_locked),
            str(b.paid),
            str(b.moved_in),
            str(b.moved_out),
            _yes(not b.differences()),
        ]
        for b in [*schedule.balances, schedule.total]
    ]


def render(run: AuditRun, out: Output) -> None:
    """The audit as rich tables on stdout."""
    out.fields("chain audit", summary_pairs(run))
    for schedule in run.report.schedules:
        out.line("")
        out.fields(f"schedule {schedule.schedule_id}", schedule_pairs(schedule))
        _table(out, "allocations", ALLOCATION_HEADERS, allocation_rows(schedule, short=True))
        _table(
            out,
            "oracle attestations (from the release redeemers)",
            ATTESTATION_HEADERS,
            attestation_rows(schedule),
        )
        _table(
            out,
            "who was paid what (release outputs tagged with the schedule id)",
            PAYMENT_HEADERS,
            payment_rows(schedule),
        )
        _table(out, "reconciliation", BALANCE_HEADERS, balance_rows(schedule))
        for flag in schedule.flags:
            where = flag.tx_id or flag.out_ref
            out.line(
                f"DIFFERENCE [{flag.code}] {flag.message}" + (f" ({where})" if where else ""), style="red"
            )
        if schedule.ok:
            out.line(
                "every allocation reconciles: allocated = released + reclaimed + still locked", style="green"
            )
    if run.report.rejections:
        _table(
            out,
            "registration metadata refused (never a schedule)",
            ("slot", "transaction", "schedule id", "reason", "why"),
            [
                [str(r.point.slot), r.tx_id, r.schedule_id or "", r.reason, r.message]
                for r in run.report.rejections
            ],
        )
    for flag in run.report.flags:
        out.line(f"DIFFERENCE [{flag.code}] {flag.message}", style="red")
    if run.comparison is not None:
        comparison = run.comparison
        if comparison.differences:
            _table(
                out,
                f"differences between the chain and the log ({run.log_source})",
                ("kind", "subject", "difference"),
                [[d.kind, d.subject, d.message] for d in comparison.differences],
            )
        else:
            out.line(
                f"the log agrees with the chain: {comparison.compared} chain facts compared up to slot "
                f"{comparison.horizon}",
                style="green",
            )
        if comparison.not_compared:
            out.line(
                f"{comparison.not_compared} fact(s) outside the stretch both cover (the log's cursor or the "
                "audit's start) were not compared"
            )
    if run.comparison is not None and run.anchors:
        for problem in run.anchor_problems:
            out.line(f"PUBLISHED HEAD DIFFERS: {problem}", style="red")
        if not run.anchor_problems:
            out.line(f"the log matches the {len(run.anchors)} head(s) published on chain", style="green")
    out.line(
        "verdict: " + ("every schedule reconciles" if run.ok else "DIFFERENCES FOUND"),
        style=verdict_style(run.ok),
    )


def _table(out: Output, title: str, headers: Sequence[str], rows: list[list[str]]) -> None:
    if rows:
        out.table(title, [Column(h) for h in headers], rows)


def html_report(run: AuditRun) -> str:
    """The whole audit as one self-contained HTML document (no external assets), in the web view's
    page and style sheet, so the daemon's pages, `log report --html` and the audit look alike."""
    parts = [
        '<h1 id="summary">Chain audit</h1>',
        f'<p class="{"s-ok" if run.ok else "s-bad"}">'
        + ("Every schedule reconciles." if run.ok else "Differences found: see below.")
        + "</p>",
        _html_pairs(summary_pairs(run)),
    ]
    for schedule in run.report.schedules:
        sid = _e(schedule.schedule_id)
        parts.append(f'<h2 id="schedule-{sid}">Schedule <code>{sid}</code></h2>')
        parts.append(_html_pairs(schedule_pairs(schedule)))
        if schedule.flags:
            parts.append("<h3>Differences</h3><ul>")
            parts += [
                f'<li class="s-bad">[{_e(f.code)}] {_e(f.message)} {_e(f.tx_id or f.out_ref)}</li>'
                for f in schedule.flags
            ]
            parts.append("</ul>")
        parts.append("<h3>Reconciliation</h3>")
        parts.append(_html_table(BALANCE_HEADERS, balance_rows(schedule), numeric=range(1, 9)))
        parts.append("<h3>Allocations</h3>")
        parts.append(_html_table(ALLOCATION_HEADERS, allocation_rows(schedule), numeric=(3,)))
        parts.append("<h3>Oracle attestations (from the release redeemers)</h3>")
        parts.append(_html_table(ATTESTATION_HEADERS, attestation_rows(schedule)))
        parts.append("<h3>Who was paid what</h3>")
        parts.append(_html_table(PAYMENT_HEADERS, payment_rows(schedule), numeric=(1, 3, 4)))
        parts.append("<h3>Definition (from the registration metadata)</h3>")
        parts.append(f"<pre>{_e(json.dumps(dict(schedule.definition), indent=2, ensure_ascii=False))}</pre>")
    if run.report.rejections:
        parts.append("<h2>Registration metadata refused (never a schedule)</h2>")
        parts.append(
            _html_table(
                ("slot", "transaction", "schedule id", "reason", "why"),
                [
                    [str(r.point.slot), r.tx_id, r.schedule_id or "", r.reason, r.message]
                    for r in run.report.rejections
                ],
            )
        )
    if run.report.flags:
        parts.append("<h2>Other differences</h2><ul>")
        parts += [f'<li class="s-bad">[{_e(f.code)}] {_e(f.message)}</li>' for f in run.report.flags]
        parts.append("</ul>")
    if run.comparison is not None:
        parts.append("<h2>Against the daemon's event log</h2>")
        if run.comparison.differences:
            parts.append(
                _html_table(
                    ("kind", "subject", "difference"),
                    [[d.kind, d.subject, d.message] for d in run.comparison.differences],
                )
            )
        else:
            parts.append(
                f'<p class="s-ok">The log agrees with the chain up to slot {run.comparison.horizon}.</p>'
            )
    document = json.dumps(run.to_json(), ensure_ascii=True).replace("</", "<\\/")
    parts.append(f'<script type="application/json" id="audit-json">{document}</script>')
    nav = [("#summary", "Summary")] + [
        (f"#schedule-{s.schedule_id}", f"schedule {s.schedule_id[:8]}…") for s in run.report.schedules
    ]
    return (
        templates.page(
            "Chain audit",
            "\n".join(parts),
            version="audit",
            links=templates.Links(live=False),
            css=static_file("web.css").decode(),
            nav=nav,
            note="Produced by milestonectl audit from the chain alone; it does not update.",
        )
        + "\n"
    )


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f'<dt>{_e(k)}</dt><dd class="mono">{_e(v)}</dd>' for k, v in pairs)
    return f'<dl class="facts">{rows}</dl>'


def _html_table(headers: Sequence[str], rows: list[list[str]], numeric: Iterable[int] = ()) -> str:
    if not rows:
        return "<p>none</p>"
    right = set(numeric)
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i in right else "mono"}">{_e(c)}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
