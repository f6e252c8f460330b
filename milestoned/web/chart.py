"""The unlock timeline as inline SVG, and the table behind it (pure).

Why hand-written SVG: a step chart of four series needs a few paths and ticks, not a charting library;
inline SVG needs no script, works offline (the HTML report), scales on a phone and prints. Colours are
presentation attributes (CSP forbids inline styles), and each series also differs by dash pattern, so
the chart reads without colour; the table after it holds every plotted value for screen readers.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 86, 24, 16, 52
SERIES = (
    ("locked", "locked (at the validator)", "#64748b", "2 0"),
    ("vested", "vested", "#1d4ed8", "8 3"),
    ("claimable", "claimable", "#15803d", "3 3"),
    ("released", "released", "#7e22ce", "12 3 2 3"),
)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short_date(text: str | None) -> str:
    return "" if text is None else text.replace("T", " ")[:16]


def timeline_svg(timeline: dict[str, Any], title_id: str = "timeline-title") -> str:
    points = timeline["points"]
    if not points:
        return '<p class="muted">No allocation is locked on chain yet: nothing to plot.</p>'
    times = [p["time_ms"] for p in points]
    now = timeline["now_ms"]
    deadline = timeline["reclaim_deadline_ms"]
    t0, t1 = min(times), max([*times, *([now] if now is not None else [])])
    span = max(t1 - t0, 1)
    t0, t1 = t0 - span * 0.04, t1 + span * 0.06
    deadline_inside = deadline <= t1 + span * 0.5
    if deadline_inside:
        t1 = max(t1, deadline + span * 0.02)
    top = max([timeline["total"], *(p["vested"] for p in points), 1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{title_id}" '
        'xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#cbd5e1"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = round(top * fraction)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y(value))}" y2="{_n(y(value))}" '
            'stroke="#e2e8f0"/>'
            f'<text x="{LEFT - 6}" y="{_n(y(value) + 4)}" text-anchor="end" font-size="11" fill="#334155">'
            f"{value:,}</text>"
        )
    for name, _, colour, dash in SERIES:
        d = [f"M{_n(x(t0))},{_n(y(0))}"]
        for p in points:
            d.append(f"H{_n(x(p['time_ms']))}V{_n(y(p[name]))}")
        d.append(f"H{_n(x(t1))}")
        parts.append(
            f'<path class="series-{name}" d="{"".join(d)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="{dash}"/>'
        )
    for p in points:
        if p["vesting_mark"]:
            cx, cy = _n(x(p["time_ms"])), _n(y(p["vested"]))
            parts.append(
                f'<circle class="vesting-mark" cx="{cx}" cy="{cy}" r="3.5" fill="#1d4ed8" '
                f'data-time-ms="{p["time_ms"]}" data-vested="{p["vested"]}">'
                f"<title>vests {escape(p['time'] or '')}: {p['vested']:,} vested</title></circle>"
                f'<line x1="{cx}" x2="{cx}" y1="{_n(y(0))}" y2="{_n(y(0) + 6)}" stroke="#1d4ed8"/>'
            )
    if now is not None:
        nx = _n(x(now))
        parts.append(
            f'<line class="now-line" x1="{nx}" x2="{nx}" y1="{TOP}" y2="{_n(y(0))}" stroke="#b91c1c" '
            f'stroke-width="1.5" data-time-ms="{now}"/>'
            f'<text x="{nx}" y="{TOP + 11}" text-anchor="middle" font-size="11" fill="#b91c1c">now</text>'
        )
    if deadline_inside:
        dx = _n(x(deadline))
        parts.append(
            f'<line class="deadline-line" x1="{dx}" x2="{dx}" y1="{TOP}" y2="{_n(y(0))}" stroke="#92400e" '
            f'stroke-dasharray="6 4" data-time-ms="{deadline}"/>'
            f'<text x="{dx}" y="{_n(y(0) - 4)}" text-anchor="end" font-size="11" fill="#92400e">'
            "reclaim deadline</text>"
        )
    else:
        parts.append(
            f'<text class="deadline-line" x="{WIDTH - RIGHT}" y="{TOP + 26}" text-anchor="end" '
            'font-size="11" '
            f'fill="#92400e" data-time-ms="{deadline}">reclaim deadline '
            f"{escape(_short_date(timeline.get('reclaim_deadline')))}"
            " →</text>"
        )
    axis_y = _n(y(0) + 18)
    first, last = points[0], points[-1]
    parts.append(
        f'<text x="{_n(x(first["time_ms"]))}" y="{axis_y}" font-size="11" fill="#334155">'
        f"{escape(_short_date(first['time']))}</text>"
        f'<text x="{_n(x(last["time_ms"]))}" y="{_n(y(0) + 34)}" text-anchor="end" font-size="11" '
        'fill="#334155">'
        f"{escape(_short_date(last['time']))}</text>"
    )
    legend_x = LEFT
    for _, text, colour, dash in SERIES:
        parts.append(
            f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{HEIGHT - 6}" y2="{HEIGHT - 6}" '
            f'stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="{dash}"/>'
            f'<text x="{legend_x + 26}" y="{HEIGHT - 2}" font-size="11" fill="#334155">{escape(text)}</text>'
        )
        legend_x += 40 + len(text) * 6
    parts.append("</svg>")
    return "".join(parts)


def timeline_table(timeline: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr data-time-ms="{p["time_ms"]}"><th scope="row"><time datetime="{escape(p["time"] or "")}">'
        f"{escape(_short_date(p['time']))}</time>{' ◆' if p['vesting_mark'] else ''}"
        f"{' (now)' if p['time_ms'] == timeline['now_ms'] else ''}</th>"
        f'<td data-series="locked">{p["locked"]:,}</td>'
        f'<td data-series="vested">{p["vested"]:,}</td>'
        f'<td data-series="claimable">{p["claimable"]:,}</td>'
        f'<td data-series="released">{p["released"]:,}</td></tr>'
        for p in timeline["points"]
    )
    shown = len(timeline["points"])
    note = (
        ""
        if timeline["vesting_times"] <= shown
        else f" ({shown} of the points; {timeline['vesting_times']} distinct vesting times in all)"
    )
    return (
        '<table class="timeline-table"><caption>Unlock timeline: cumulative amounts at each point'
        f'{escape(note)} (◆ an allocation vests)</caption><thead><tr><th scope="col">chain time (UTC)</th>'
        '<th scope="col">locked</th><th scope="col">vested</th><th scope="col">claimable</th>'
        f'<th scope="col">released</th></tr></thead><tbody>{rows}</tbody></table>'
    )
