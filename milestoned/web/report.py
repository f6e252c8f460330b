"""`milestonectl log report --html FILE`: the web view's pages of a replayed event log, in one file.

The log is read (never written), its hash chain verified, and replayed into fresh projections in a
temporary folder, exactly as `log replay` does; the snapshot of that replay is rendered with the same
view models and templates as the daemon's pages. The file is self-contained for archiving: the style
sheet inline, no script, no font or image, links only to anchors inside it. Every allocation of every
schedule is listed (a report is not paged).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from milestoned.daemon.local_index import LocalIndex
from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.verify import verify
from milestoned.projections.projector import Projector
from milestoned.projections.slots import SlotConfig
from milestoned.projections.store import ProjectionStore
from milestoned.web import templates, viewmodels
from milestoned.web.routes import static_file
from milestoned.web.snapshot import Snapshot, Verification
from milestoned.web.source import snapshot_of
from milestoned.web.templates import Links, h


def replay_snapshot(event_log: EventLog, slots: SlotConfig, network: str) -> Snapshot:
    """The snapshot of `event_log` replayed from its first event into fresh projections."""
    report = verify(event_log)
    verification = Verification(
        ok=report.ok,
        events_checked=report.events_checked,
        head_position=report.head.position,
        summary=report.summary(),
        at_ms=int(time.time() * 1000),
    )
    index = LocalIndex()
    for logged in event_log.iter_events():
        index.apply(logged.event)
        index.position = logged.position
    with (
        tempfile.TemporaryDirectory(prefix="milestoned-report-") as folder,
        ProjectionStore(parse_store_url(str(Path(folder) / "replay.db"))) as store,
    ):
        Projector(event_log, store, slots, batch_size=5000).catch_up()
        return snapshot_of(
            version=f"{event_log.head().position}",
            network=network,
            index=index,
            projections=store,
            event_log=event_log,
            slots=slots,
            verification=verification,
            live=False,
        )


def render_report(snapshot: Snapshot, source: str) -> str:
    links = Links(live=False)
    head = (
        '<h1 id="report">Event log report</h1><dl class="facts">'
        f'<dt>log</dt><dd class="mono">{h(source)}</dd>'
        f'<dt>head</dt><dd class="mono">position {snapshot.log_position}, hash {h(snapshot.log_hash)}</dd>'
        f"<dt>network</dt><dd>{h(snapshot.network)}</dd>"
        f"<dt>schedules</dt><dd>{len(snapshot.schedules)}</dd></dl>"
        '<nav aria-label="Report sections"><ul>'
        + "".join(
            f'<li><a href="{h(links.schedule(s.schedule_id))}" class="mono">{h(s.schedule_id)}</a></li>'
            for s in snapshot.schedules
        )
        + f'<li><a href="{h(links.activity())}">Activity</a></li></ul></nav>'
    )
    sections = [head, templates.schedules_body(viewmodels.schedules_view(snapshot), links)]
    for info in snapshot.schedules:
        allocations = len(snapshot.index.by_schedule.get(info.schedule_id, ())) or 1
        view = viewmodels.schedule_view(snapshot, info.schedule_id, per_page=allocations)
        sections.append(f"<article>{templates.schedule_body(view, links)}</article>")
    sections.append(templates.activity_body(viewmodels.activity_view(snapshot), links))
    css = static_file("web.css").decode()
    return templates.page(
        "Event log report", "<hr>".join(sections), version=snapshot.version, links=links, css=css
    )


def write_report(
    event_log: EventLog, slots: SlotConfig, network: str, source: str, out: Path
) -> dict[str, Any]:
    snapshot = replay_snapshot(event_log, slots, network)
    html = render_report(snapshot, source)
    out.write_text(html, encoding="utf-8")
    verification = snapshot.verification
    assert verification is not None
    return {
        "written": str(out),
        "bytes": len(html.encode()),
        "schedules": [s.schedule_id for s in snapshot.schedules],
        "log": {"position": snapshot.log_position, "hash": snapshot.log_hash},
        "verified": verification.ok,
        "verification": verification.summary,
    }
