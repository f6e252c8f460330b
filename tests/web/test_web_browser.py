"""The web view in a real headless Chromium against the real daemon of `milestoned demo` (embedded devnet).

One demo process and one browser for every page (the demo registers the example schedule, two oracles
sign M1, the daemon's auto-release pays M1 when it vests). The schedule page is opened as soon as the
schedule is recorded and never reloaded: it must show the allocations being locked and then released
(live updates). Every page must render without a console error or a failed request, show the numbers
`milestonectl --json` gives at the same log position, and is saved as a screenshot under
test-artifacts/web/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from web_browser import ARTIFACTS, chromium_path

REPO = Path(__file__).resolve().parents[2]
M1 = "M1-testnet-launch"
WAIT_S = 90.0
REPORT = (sys.executable, "-m", "milestoned.commands.cli", "log", "report")


@dataclass
class Demo:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_for(self, pattern: str, timeout: float = WAIT_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"the demo never printed {pattern!r}:\n" + "\n".join(self.lines))

    def ctl(self, *args: str) -> Any:
        socket = self.wait_for(r"socket: (\S+)").group(1)
        out = subprocess.run(
            [sys.executable, "-m", "milestoned.commands.cli", *args, "--socket", socket, "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return json.loads(out.stdout)["result"]


@dataclass
class Browser:
    demo: Demo
    url: str
    schedule_id: str
    context: Any
    live_page: Any
    """The schedule page, opened once the schedule was recorded and never reloaded."""
    problems: list[str]


def _watch(page: Any, problems: list[str]) -> None:
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milestoned.daemon.cli",
            "demo",
            "--examples",
            str(REPO / "examples"),
            "--linger",
            "240",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "300", "NO_COLOR": "1"},
    )
    demo = Demo(process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            demo.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            context = chromium.new_context(viewport={"width": 1100, "height": 900})
            problems: list[str] = []
            url = demo.wait_for(r"web view: (http://\S+)").group(1)
            schedule_id = demo.wait_for(r"recorded schedule ([0-9a-f]{56})").group(1)
            live_page = context.new_page()
            _watch(live_page, problems)
            live_page.goto(f"{url}schedules/{schedule_id}")
            yield Browser(demo, url, schedule_id, context, live_page, problems)
            chromium.close()
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _statuses(page: Any) -> dict[str, str]:
    rows = page.locator("table.allocations tbody tr")
    return {
        rows.nth(i).get_attribute("data-allocation"): rows.nth(i)
        .locator("td[data-status]")
        .get_attribute("data-status")
        for i in range(rows.count())
    }


def test_the_schedule_page_follows_locks_and_the_release_without_reload(browser: Browser) -> None:
    page = browser.live_page
    page.evaluate("window.__not_reloaded = true")
    # the page was opened when the schedule was recorded, before its registration was even submitted:
    # M1's allocations are read once the demo says the indexer saw them all locked
    browser.demo.wait_for(r"the indexer saw \d+ allocations locked")
    claimable = browser.demo.ctl("claimable", "--schedule-id", browser.schedule_id)
    m1 = {a["allocation"] for a in claimable["allocations"] if a["milestone"] == M1}
    assert len(m1) == 3

    def released_on_page() -> bool:
        statuses = _statuses(page)
        return all(statuses.get(ref) == "released" for ref in m1)

    deadline = time.monotonic() + WAIT_S
    while not released_on_page():
        assert time.monotonic() < deadline, f"the page never showed M1 released: {_statuses(page)}"
        page.wait_for_timeout(500)
    assert page.evaluate("window.__not_reloaded === true"), "the page was reloaded"
    assert "updated" in page.locator("#live-status").inner_text()
    page.screenshot(path=str(ARTIFACTS / "schedule-after-release.png"), full_page=True)
    assert not browser.problems, browser.problems


def _same_moment(
    browser: Browser, page: Any, read_page: Callable[[], Any], read_ctl: Callable[[], Any]
) -> tuple[Any, Any]:
    """Page and milestonectl figures of one log position: the page's (it shows the position it was
    computed at) and the daemon's before and after the milestonectl reads (retried while the log moves)."""
    for _ in range(20):
        before = browser.demo.ctl("status")["log"]["position"]
        on_page, from_ctl = read_page(), read_ctl()
        shown = int(page.locator("[data-log-position]").first.inner_text())
        if browser.demo.ctl("status")["log"]["position"] == before == shown:
            return on_page, from_ctl
        page.wait_for_timeout(300)
    raise AssertionError("the log kept moving; no quiet moment to compare")


def _amount(page: Any, scope: str, key: str) -> int:
    return int(page.locator(f"{scope} [data-amount='{key}']").first.inner_text().replace(",", ""))


def test_every_page_renders_cleanly_and_agrees_with_milestonectl(browser: Browser) -> None:
    page = browser.context.new_page()
    problems: list[str] = []
    _watch(page, problems)
    sid = browser.schedule_id

    # schedules list; the keyboard reaches the skip link first, and it moves to the content
    page.goto(browser.url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    row = page.locator(f"tr[data-schedule-id='{sid}']")

    def list_figures() -> dict[str, int]:
        page.reload()
        return {
            k: _amount(page, f"tr[data-schedule-id='{sid}']", k)
            for k in ("total", "released", "claimable", "locked")
        }

    def ctl_figures() -> dict[str, int]:
        rows = browser.demo.ctl("claimable", "--schedule-id", sid)["allocations"]
        return {
            "total": sum(r["amount"] for r in rows),
            "released": sum(r["amount"] for r in rows if r["released"]),
            "claimable": sum(r["amount"] for r in rows if r["claimable_now"]),
            "locked": sum(r["amount"] for r in rows if not r["released"] and not r["reclaimed"]),
        }

    on_page, from_ctl = _same_moment(browser, page, list_figures, ctl_figures)
    assert on_page == from_ctl
    assert row.count() == 1
    page.screenshot(path=str(ARTIFACTS / "schedules.png"), full_page=True)

    # the schedule: milestones as `milestonectl milestones` says
    page.goto(f"{browser.url}schedules/{sid}")
    milestones = browser.demo.ctl("milestones", "--schedule-id", sid)
    for m in milestones:
        status = page.locator(f"tr[data-milestone='{m['milestone']}'] td[data-status]").get_attribute(
            "data-status"
        )
        assert (status != "pending") == m["quorum_reached"], (m, status)
    page.screenshot(path=str(ARTIFACTS / "schedule.png"), full_page=True)

    # a beneficiary with an M1 release
    rows = browser.demo.ctl("claimable", "--schedule-id", sid)["allocations"]
    address = next(r["beneficiary"] for r in rows if r["milestone"] == M1)

    def beneficiary_figures() -> tuple[int, int, list[str]]:
        page.goto(f"{browser.url}beneficiaries/{address}")
        return (
            int(page.locator("[data-claimable-now]").inner_text().replace(",", "")),
            _amount(page, "#live-beneficiary", "released"),
            sorted(page.locator("table.releases td.mono").all_inner_texts()),
        )

    def ctl_beneficiary() -> tuple[int, int, list[str]]:
        answer = browser.demo.ctl("claimable", "--beneficiary", address)
        mine = answer["allocations"]
        submissions = browser.demo.ctl("submissions")
        released_refs = {r["allocation"] for r in mine if r["released"]}
        txs = sorted(
            s["tx_id"]
            for s in submissions
            # the transaction that released them: its confirmation may be recorded a moment after
            # the chain event the page reads, so a still-"submitted" one counts too
            if released_refs & set(s["allocations"]) and s["status"] in ("submitted", "confirmed")
        )
        return (
            answer["claimable_now_by_beneficiary"].get(address, 0),
            sum(r["amount"] for r in mine if r["released"]),
            txs,
        )

    on_page, from_ctl = _same_moment(browser, page, beneficiary_figures, ctl_beneficiary)
    assert on_page == from_ctl
    command = page.locator("pre.copy").first.inner_text()
    assert command == f"milestonectl release --schedule-id {sid} --beneficiary {address}"
    page.screenshot(path=str(ARTIFACTS / "beneficiary.png"), full_page=True)

    # activity: the log head as `milestonectl status` says, and a verification
    def activity() -> tuple[int, str]:
        page.goto(f"{browser.url}activity")
        return int(page.locator("dd[data-log-position]").inner_text()), page.locator(
            "dd[data-log-hash]"
        ).inner_text()

    def ctl_head() -> tuple[int, str]:
        head = browser.demo.ctl("status")["log"]
        return head["position"], head["hash"]

    on_page, from_ctl = _same_moment(browser, page, activity, ctl_head)
    assert on_page == from_ctl
    assert page.locator("[data-verification]").get_attribute("data-verification") == "ok"
    assert "topic" not in page.locator("main table").first.inner_text()  # fields, not the class' topic
    page.screenshot(path=str(ARTIFACTS / "activity.png"), full_page=True)

    # a phone's width, and an error page
    page.set_viewport_size({"width": 380, "height": 800})
    page.goto(f"{browser.url}schedules/{sid}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "schedule-phone.png"), full_page=True)
    assert not problems, problems


def test_the_timeline_has_a_point_per_vesting_time_with_the_cumulative_amounts(browser: Browser) -> None:
    page = browser.context.new_page()
    page.goto(f"{browser.url}schedules/{browser.schedule_id}")
    rows = browser.demo.ctl("claimable", "--schedule-id", browser.schedule_id)["allocations"]
    expected: dict[int, int] = {}
    for t in sorted({r["vesting_time_ms"] for r in rows}):
        expected[t] = sum(r["amount"] for r in rows if r["vesting_time_ms"] <= t)
    marks = page.locator("svg.chart circle.vesting-mark")
    drawn = {
        int(marks.nth(i).get_attribute("data-time-ms")): int(marks.nth(i).get_attribute("data-vested"))
        for i in range(marks.count())
    }
    assert drawn == expected
    # the table behind the chart holds the same points, and the now line is drawn
    table = {
        int(r.get_attribute("data-time-ms")): int(
            r.locator("td[data-series='vested']").text_content().replace(",", "")
        )
        for r in page.locator("table.timeline-table tbody tr").all()
    }
    assert expected.items() <= table.items()
    assert page.locator("svg.chart .now-line").count() == 1
    assert page.locator("svg.chart .deadline-line").count() == 1


def test_the_log_report_of_the_demo_opens_offline_with_the_same_figures(
    browser: Browser, tmp_path: Path
) -> None:
    demo, sid = browser.demo, browser.schedule_id
    socket = demo.wait_for(r"socket: (\S+)").group(1)
    events = Path(socket).parent / "events.db"
    ogmios = demo.wait_for(r"embedded devnet at (ws://\S+)").group(1)
    out = tmp_path / "report.html"
    page = browser.context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    problems: list[str] = []
    _watch(page, problems)
    scope = f"tr[data-schedule-id='{sid}']"
    for _ in range(3):  # the demo's log moves now and then: the report and milestonectl must meet once
        written = subprocess.run(
            [*REPORT, "--log", str(events), "--html", str(out), "--ogmios", ogmios, "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        result = json.loads(written.stdout)["result"]
        assert result["verified"]
        requests.clear()
        page.goto(out.as_uri())
        assert requests == [out.as_uri()], requests  # nothing fetched beyond the file itself
        shown = {key: _amount(page, scope, key) for key in ("total", "released", "claimable", "locked")}
        rows_shown = page.locator(f"article:has(#schedule-{sid}) table.allocations tbody tr").count()
        rows = demo.ctl("claimable", "--schedule-id", sid)["allocations"]
        expected = {
            "total": sum(r["amount"] for r in rows),
            "released": sum(r["amount"] for r in rows if r["released"]),
            "claimable": sum(r["amount"] for r in rows if r["claimable_now"]),
            "locked": sum(r["amount"] for r in rows if not r["released"] and not r["reclaimed"]),
        }
        if shown == expected and rows_shown == len(rows):
            break
    else:
        raise AssertionError(
            f"the report shows {shown} and {rows_shown} rows; milestonectl {expected}, {len(rows)}"
        )
    page.screenshot(path=str(ARTIFACTS / "log-report.png"), full_page=True)
    assert not problems, problems


def test_the_definition_link_re_derives_the_schedule_id(
    browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import urllib.request

    from milestoned.commands.cli import main

    with urllib.request.urlopen(f"{browser.url}schedules/{browser.schedule_id}/definition.json") as answer:
        assert answer.headers["Content-Disposition"].startswith("attachment")
        (tmp_path / "schedule.json").write_bytes(answer.read())
    capsys.readouterr()
    assert main(["schedule", "show", str(tmp_path / "schedule.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schedule_id"] == browser.schedule_id
