"""The pages as HTML: pure functions from view models (`viewmodels`) to text.

Why stdlib f-strings and `html.escape` rather than a template engine (Jinja2): four pages of tables need
loops and escaping, nothing more; every interpolation goes through `h()` (or is a number we format), a
page renders in well under a millisecond per row without a dependency to pin and audit, and the offline
report (`milestonectl log report --html`) uses the very same functions with another `Links`.

Accessibility: one <h1> per page, landmarks (header, nav, main, footer), a skip link, tables with
captions and scoped headers, the chart with a title and the table of its values, focus outlines, and a
layout that reflows on a phone (tables scroll sideways in their own box).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from milestoned.web.chart import timeline_svg, timeline_table


def h(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def num(value: int) -> str:
    return f"{value:,}"


def when(text: str | None) -> str:
    return "—" if text is None else f'<time datetime="{h(text)}">{h(text.replace("T", " "))}</time>'


@dataclass(frozen=True, slots=True)
class Links:
    """Where links point: the live server's paths, or anchors inside one report file."""

    live: bool = True

    def home(self) -> str:
        return "/" if self.live else "#schedules"

    def activity(self) -> str:
        return "/activity" if self.live else "#activity"

    def schedule(self, schedule_id: str, **query: object) -> str:
        if not self.live:
            return f"#schedule-{schedule_id}"
        extra = {k: v for k, v in query.items() if v not in (None, "", 1)}
        return f"/schedules/{schedule_id}" + (f"?{urlencode(extra)}" if extra else "")

    def beneficiary(self, address: str) -> str | None:
        return f"/beneficiaries/{quote(address)}" if self.live else None


def _a(href: str | None, text: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<a href="{h(href)}"{klass}>{text}</a>' if href else f"<span{klass}>{text}</span>"


def page(
    title: str,
    body: str,
    *,
    version: str,
    links: Links,
    css: str | None = None,
    nav: Sequence[tuple[str, str]] | None = None,
    note: str | None = None,
) -> str:
    """The whole document. `css` inlines the style sheet (the offline reports); the server links it.
    `nav` (href, label) replaces the Schedules · Activity links and `note` the offline footer line, for
    a report of another shape (the chain audit)."""
    style = f"<style>{css}</style>" if css is not None else '<link rel="stylesheet" href="/static/web.css">'
    script = '<script src="/static/live.js" defer></script>' if links.live else ""
    icon = '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">' if links.live else ""
    search = (
        '<form role="search" method="get" action="/beneficiaries"><label for="find-address" '
        'class="skip-label">'
        'Beneficiary address</label> <input id="find-address" type="text" name="address" size="24" '
        'maxlength="120" placeholder="addr_test1… / addr1…" autocomplete="off"> <button>Look '
        "up</button></form>"
        if links.live
        else ""
    )
    entries = nav if nav is not None else ((links.home(), "Schedules"), (links.activity(), "Activity"))
    sections = " · ".join(f'<a href="{h(href)}">{h(label)}</a>' for href, label in entries)
    if note is None:
        note = "" if links.live else "A report written from a replayed event log; it does not update."
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{h(title)} · milestoned</title>{icon}{style}{script}</head>"
        f'<body data-version="{h(version)}"><a class="skip" href="#main">Skip to content</a>'
        f'<header class="site"><a class="brand" href="{h(links.home())}">milestoned</a>'
        f'<nav aria-label="Sections">{sections}</nav>{search}</header>'
        f'<main id="main">{body}</main>'
        '<footer><span id="live-status" role="status" aria-live="polite">'
        f"{h(note)}</span> Read-only view; amounts are token units.</footer></body></html>"
    )


def _status(text: str) -> str:
    return f'<span class="badge s-{h(text)}">{h(text)}</span>'


def _cards(totals: dict[str, int], keys: tuple[tuple[str, str], ...]) -> str:
    items = "".join(
        f'<li><span class="k">{h(text)}</span><span class="v" '
        f'data-amount="{h(key)}">{num(totals[key])}</span></li>'
        for key, text in keys
    )
    return f'<ul class="cards">{items}</ul>'


PAUSED_NOTE = (
    "<dt>releases</dt><dd><strong>paused by its guardians</strong>: no allocation can be released until "
    "they resume it (<code>milestonectl schedule resume</code>)</dd>"
)
"""A schedule page's line while the schedule's guardians have paused its releases (issue 15)."""

AMOUNTS = (
    ("total", "total"),
    ("locked", "locked"),
    ("claimable", "claimable now"),
    ("released", "released"),
    ("reclaimed", "reclaimed"),
)


def schedules_body(view: dict[str, Any], links: Links) -> str:
    rows = "".join(
        f'<tr data-schedule-id="{h(s["schedule_id"])}"><th scope="row">'
        f"{_a(links.schedule(s['schedule_id']), h(s['schedule_id'][:16]) + '…', 'mono')}</th>"
        f"<td>{h(s['token'])}</td>"
        + "".join(
            f'<td class="num" data-amount="{key}">{num(s[key])}</td>'
            for key in ("total", "released", "claimable", "locked", "reclaimed")
        )
        + f'<td class="num">{s["milestones_met"]} / {s["milestones"]}</td>'
        f'<td>{h(s["log_status"])}<br><span class="muted">{h(s["source"])}</span></td></tr>'
        for s in view["schedules"]
    )
    table = (
        '<div class="scroll"><table><caption>Schedules this daemon follows</caption><thead><tr>'
        '<th scope="col">schedule</th><th scope="col">token</th><th scope="col" class="num">total</th>'
        '<th scope="col" class="num">released</th><th scope="col" class="num">claimable</th>'
        '<th scope="col" class="num">locked</th><th scope="col" class="num">reclaimed</th>'
        '<th scope="col" class="num">milestones met</th><th scope="col">log status</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
        if view["schedules"]
        else "<p>No schedule yet: register one with <code>milestonectl schedule register FILE</code>.</p>"
    )
    return (
        '<h1 id="schedules">Schedules</h1>'
        f'<section id="live-schedules" data-live>{table}{_log_line(view)}</section>'
    )


def _log_line(view: dict[str, Any]) -> str:
    tip = view["chain_tip"]
    tip_text = "not seen yet" if tip is None else f"slot {num(tip['slot'])} ({when(tip['time'])})"
    return (
        f'<p class="muted">Event log at position <span data-log-position>{view["log"]["position"]}</span>, '
        f"head <code>{h(view['log']['hash'][:16])}…</code>; chain tip {tip_text}.</p>"
    )


def _oracles(milestone: dict[str, Any]) -> str:
    return "".join(
        f'<li class="mono">{"✔ signed" if o["signed"] else "✘ not signed"}: {h(o["key"][:16])}…</li>'
        for o in milestone["oracles"]
    )


def _allocation_rows(rows: list[dict[str, Any]], links: Links, *, show_beneficiary: bool) -> str:
    out = []
    for r in rows:
        why = ", ".join(r["reasons"]) or "—"
        beneficiary = (
            f"<td>{_a(links.beneficiary(r['beneficiary']), h(r['beneficiary']), 'mono')}</td>"
            if show_beneficiary
            else f"<td>{_a(links.schedule(r['schedule_id']), h(r['schedule_id'][:12]) + '…', 'mono')}</td>"
        )
        tx = f'<br><span class="mono">tx {h(r["release_tx"])}</span>' if r["release_tx"] else ""
        out.append(
            f'<tr data-allocation="{h(r["allocation"])}">{beneficiary}<td>{h(r["milestone"])}</td>'
            f'<td class="num" data-amount="amount">{num(r["amount"])}</td><td>{when(r["vesting_time"])}</td>'
            f'<td data-status="{h(r["status"])}">{_status(r["status"])}{tx}</td>'
            f'<td data-reasons="{h(" ".join(r["reasons"]))}">{h(why)}</td></tr>'
        )
    return "".join(out)


def _allocation_table(rows: str, caption: str, first: str) -> str:
    return (
        f'<div class="scroll"><table class="allocations"><caption>{caption}</caption><thead><tr>'
        f'<th scope="col">{first}</th><th scope="col">milestone</th><th scope="col" class="num">amount</th>'
        '<th scope="col">vests (UTC)</th><th scope="col">status</th><th scope="col">not claimable '
        "because</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def schedule_head(view: dict[str, Any], links: Links) -> str:
    """Everything of a schedule page above its allocations: the same for every page and search of one
    snapshot, so the server renders it once per snapshot (see `routes`)."""
    sid = view["schedule_id"]
    d = view["definition"]
    oracles = "".join(f'<li class="mono">{h(key)}</li>' for key in d["oracles"])
    admin = h(d["admin_key_hash"])
    if d["admin"] and d["admin"] != d["admin_key_hash"]:
        admin = f"{h(d['admin'])}<br>key hash {admin}"
    definition = (
        '<dl class="facts">'
        f'<dt>schedule id</dt><dd class="mono">{h(sid)}'
        + (
            f' (<a href="/schedules/{h(sid)}/definition.json" '
            f'download="schedule-{h(sid[:8])}.json">definition</a>:'
            f" re-derive the id with <code>milestonectl schedule show FILE</code>)"
            if links.live
            else ""
        )
        + f'</dd><dt>admin</dt><dd class="mono">{admin}</dd>'
        f"<dt>token</dt><dd>{h(d['token'])} <span "
        f'class="mono">{h(d["token_policy_id"])}.{h(d["token_name"])}</span></dd>'
        f"<dt>oracles</dt><dd><ul>{oracles}</ul></dd><dt>quorum</dt><dd>{d['quorum']} of "
        f"{len(d['oracles'])}</dd>"
        f"<dt>reclaim deadline</dt><dd>{when(d['reclaim_deadline'])}</dd>"
        + (PAUSED_NOTE if view["paused"] else "")
        + f"<dt>source</dt><dd>{h(d['source'])}"
        f"{'' if d['registered_at'] is None else ', registered at ' + h(d['registered_at'])}</dd></dl>"
    )
    milestones = "".join(
        f'<tr data-milestone="{h(m["milestone"])}"><th scope="row">{h(m["milestone"])}</th>'
        f'<td data-status="{h(m["status"])}">{_status(m["status"])}</td>'
        f'<td class="num">{m["signatures"]} / {m["quorum"]}</td><td><ul>{_oracles(m)}</ul></td></tr>'
        for m in view["milestones"]
    )
    chart_id = f"timeline-title-{sid[:8]}"
    return (
        f'<h1 id="schedule-{h(sid)}">Schedule <span class="mono">{h(sid[:16])}…</span></h1>'
        f'<section aria-labelledby="def-{h(sid[:8])}"><h2 '
        f'id="def-{h(sid[:8])}">Definition</h2>{definition}</section>'
        f'<div id="live-{h(sid[:8])}-state" data-live>'
        f"{_cards(view['totals'], AMOUNTS)}{_log_line(view)}"
        '<section><h2>Milestones</h2><div class="scroll"><table class="milestones"><caption>Quorum status '
        "per milestone: pending (fewer signatures than the quorum), met, exceeded</caption><thead><tr>"
        '<th scope="col">milestone</th><th scope="col">status</th><th scope="col" class="num">signatures</th>'
        f'<th scope="col">oracles</th></tr></thead><tbody>{milestones}</tbody></table></div></section>'
        f'<section><h2 id="{chart_id}">Unlock timeline</h2><figure>{timeline_svg(view["timeline"], chart_id)}'
        f"<figcaption>Cumulative amounts over chain time: locked, vested, claimable and released; dots mark "
        "vesting times, the red line is now.</figcaption></figure>"
        "<details><summary>The chart's values as a "
        f"table</summary>{timeline_table(view['timeline'])}</details>"
        "</section></div>"
    )


def schedule_body(view: dict[str, Any], links: Links, head: str | None = None) -> str:
    """A schedule page's body; `head` is `schedule_head` of the same view when already rendered."""
    sid = view["schedule_id"]
    alloc = view["allocations"]
    rows = _allocation_rows(alloc["rows"], links, show_beneficiary=True)
    query = alloc["query"]
    caption = (
        f"Allocations {'matching ' + h(repr(query)) + ': ' if query else ''}{num(alloc['matching'])}; "
        f"page {alloc['page']} of {alloc['pages']}"
    )
    pager = ""
    if links.live and alloc["pages"] > 1:
        prev = (
            _a(links.schedule(sid, q=query, page=alloc["page"] - 1) + "#allocations", "← previous")
            if alloc["page"] > 1
            else ""
        )
        nxt = (
            _a(links.schedule(sid, q=query, page=alloc["page"] + 1) + "#allocations", "next →")
            if alloc["page"] < alloc["pages"]
            else ""
        )
        where = f"<span>page {alloc['page']} of {alloc['pages']}</span>"
        pager = f'<nav class="pages" aria-label="Allocation pages">{prev}{where}{nxt}</nav>'
    search = (
        f'<form method="get" action="/schedules/{h(sid)}#allocations" role="search">'
        '<label for="q">Find a beneficiary address (or part of one)</label> '
        f'<input id="q" type="search" name="q" value="{h(query)}" maxlength="120"> <button>Search</button>'
        + (f' <a href="/schedules/{h(sid)}#allocations">clear</a>' if query else "")
        + "</form>"
        if links.live
        else ""
    )
    alloc_id = "allocations" if links.live else f"allocations-{h(sid)}"
    return (
        (schedule_head(view, links) if head is None else head)
        + f'<section><h2 id="{alloc_id}">Allocations</h2>{search}'
        f'<div id="live-{h(sid[:8])}-allocations" data-live>'
        f"{_allocation_table(rows, caption, 'beneficiary')}{pager}</div></section>"
    )


def beneficiary_body(view: dict[str, Any], links: Links) -> str:
    address = view["beneficiary"]
    rows = _allocation_rows(view["allocations"], links, show_beneficiary=False)
    releases = "".join(
        f'<tr><td class="mono">{h(r["tx_id"])}</td><td>{h(r["milestone"])}</td>'
        f'<td class="num">{num(r["amount"])}</td><td>{when(r["time"])}</td><td '
        f'class="num">{r["slot"]}</td></tr>'
        for r in view["releases"]
    )
    history = (
        '<div class="scroll"><table class="releases"><caption>Releases to this address</caption><thead><tr>'
        '<th scope="col">transaction</th><th scope="col">milestone</th><th scope="col" '
        'class="num">amount</th>'
        '<th scope="col">chain time (UTC)</th><th scope="col" class="num">slot</th></tr></thead>'
        f"<tbody>{releases}</tbody></table></div>"
        if releases
        else "<p>Nothing released to this address yet.</p>"
    )
    commands = "".join(
        f'<pre class="copy" id="cmd-{i}" tabindex="0">{h(cmd)}</pre>'
        f'<button type="button" data-copy="cmd-{i}" hidden>copy</button>'
        for i, cmd in enumerate(view["release_commands"])
    )
    summary = (
        f'<p class="lead">Claimable now: <strong data-claimable-now>{num(view["claimable_now"])}</strong>. '
        f"Next unlock: {when(view['next_unlock'])}.</p>"
    )
    return (
        f'<h1>Beneficiary <span class="mono">{h(address)}</span></h1>'
        f'<div id="live-beneficiary" data-live>{summary}{_cards(view["totals"], AMOUNTS)}{_log_line(view)}'
        "<section><h2>Allocations</h2>"
        f"{_allocation_table(rows, 'Every allocation to this address', 'schedule')}</section>"
        f"<section><h2>Release history</h2>{history}</section></div>"
        "<section><h2>Release what is claimable</h2><p>An admin of the schedule (or its auto-release job) "
        "releases it; with the socket: </p>"
        f"{commands}<p>Without the daemon, release it yourself: <code>milestonectl claim --attestations FILE "
        "--ogmios URL --key WALLET.skey</code>.</p></section>"
    )


def activity_body(view: dict[str, Any], links: Links) -> str:
    v = view["verification"]
    verification = (
        "<p>Not verified yet (the web view verifies the log at start and after it moved).</p>"
        if v is None
        else f'<p data-verification="{"ok" if v["ok"] else "failed"}">{_status("ok" if v["ok"] else "bad")} '
        f"{h(v['summary'])} (at {when(v['at'])})"
        + (
            f"; the log has grown by {view['log']['position'] - v['head_position']} event(s) since: "
            "the next check verifies them.</p>"
            if view["log"]["position"] > v["head_position"]
            else ".</p>"
        )
    )
    events = "".join(
        f'<tr><td class="num">{e["position"]}</td><td>{h(e["topic"])}</td><td class="mono">'
        + "; ".join(f"{h(k)} {h(val)}" for k, val in e["fields"].items())
        + "</td></tr>"
        for e in view["events"]
    )
    submissions = "".join(
        f'<tr><td class="mono">{h(s["tx_id"])}</td><td>{_status(s["status"])}</td>'
        f'<td class="num">{len(s["allocations"])}</td><td>{h(s["reason"])}</td></tr>'
        for s in view["submissions"]
    )
    return (
        '<h1 id="activity">Activity</h1><div id="live-activity" data-live>'
        f'<section><h2>Event log</h2><dl class="facts"><dt>head position</dt><dd data-log-position>'
        f'{view["log"]["position"]}</dd><dt>head hash</dt><dd class="mono" '
        f"data-log-hash>{h(view['log']['hash'])}</dd>"
        f"</dl>{verification}</section>"
        '<section><h2>Recent events</h2><div class="scroll"><table><caption>The newest events of the log'
        '</caption><thead><tr><th scope="col" class="num">position</th><th scope="col">event</th>'
        f'<th scope="col">details</th></tr></thead><tbody>{events}</tbody></table></div></section>'
        '<section><h2>Submissions</h2><div class="scroll"><table><caption>Release transactions this daemon '
        'submitted</caption><thead><tr><th scope="col">transaction</th><th scope="col">status</th>'
        '<th scope="col" class="num">allocations</th><th scope="col">reason</th></tr></thead>'
        f"<tbody>{submissions}</tbody></table></div></section></div>"
    )


def error_body(status: int, message: str, hint: str) -> str:
    return f'<h1>{status}: {h(message)}</h1><p>{h(hint)}</p><p><a href="/">All schedules</a></p>'
