"""`milestonectl log report --html`: a replayed log as one self-contained page, and its clear refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from milestoned.commands.cli import main
from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.testing import TEST_SLOTS, synthetic_log
from milestoned.projections.readmodels import claimable_totals
from milestoned.web.report import replay_snapshot, write_report


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "events.db"
    with EventLog(parse_store_url(str(path))) as log:
        for batch in synthetic_log(400, seed=3, schedules=2):
            log.append(batch)
    return path


def test_the_report_is_self_contained_and_shows_the_replayed_figures(log_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    with EventLog(parse_store_url(str(log_path))) as log:
        result = write_report(log, TEST_SLOTS, "devnet", str(log_path), out)
        snapshot = replay_snapshot(log, TEST_SLOTS, "devnet")
    html = out.read_text()
    assert result["verified"] and len(result["schedules"]) == 2
    # one file: inline style, no script, nothing fetched, links only to anchors inside it
    assert "<script" not in html and "<link" not in html and "<style>" in html
    assert not re.findall(r'(?:src|href)="(?!#)', html)
    for schedule_id in result["schedules"]:
        assert f'id="schedule-{schedule_id}"' in html
        assert f'href="#schedule-{schedule_id}"' in html
    # every allocation is listed, with the replayed claimable totals
    assert html.count("<tr data-allocation=") == len(snapshot.index.allocations)
    claimable = sum(claimable_totals(snapshot.index.allocations).values())
    shown = sum(
        int(x.replace(",", ""))
        for x in re.findall(r'<td class="num" data-amount="claimable">([\d,]+)<', html)
    )
    assert shown == claimable
    assert "event log OK" in html


def test_the_command_refuses_clearly(
    tmp_path: Path, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = main(["log", "report", "--log", str(tmp_path / "nope.db"), "--html", str(tmp_path / "r.html")])
    assert missing == 2 and "there is no event log at" in capsys.readouterr().err
    # the synthetic schedules name no network: the command asks for one
    unknown = main(["log", "report", "--log", str(log_path), "--html", str(tmp_path / "r.html")])
    assert unknown == 2 and "--network" in capsys.readouterr().err
    devnet = main(
        ["log", "report", "--log", str(log_path), "--html", str(tmp_path / "r.html"), "--network", "devnet"]
    )
    assert devnet == 2 and "--ogmios" in capsys.readouterr().err
    done = main(
        [
            "log",
            "report",
            "--log",
            str(log_path),
            "--html",
            str(tmp_path / "r.html"),
            "--network",
            "preprod",
            "--json",
        ]
    )
    assert done == 0
    assert json.loads(capsys.readouterr().out)["result"]["verified"] is True
