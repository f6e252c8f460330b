"""`milestonectl schedule from-csv|to-csv` on the example schedule: files written, kept, and refused."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

Runner = Callable[..., Any]


def test_to_csv_then_from_csv_rebuilds_a_schedule_with_the_same_id(run: Runner, examples: Path) -> None:
    recipients = examples / "recipients.csv"
    assert run("schedule", "to-csv", examples / "schedule.json", "--out", recipients).code == 0
    elsewhere = examples / "out" / "nested"
    built = run(
        "--json",
        "schedule",
        "from-csv",
        recipients,
        "--base",
        examples / "schedule.json",
        "--out",
        elsewhere / "schedule.json",
    ).json()
    assert built["ok"] is True and built["allocation_count"] == 10
    original = run("--json", "schedule", "show", examples / "schedule.json").json()
    rebuilt = run("--json", "schedule", "show", elsewhere / "schedule.json").json()
    # the .vkey path in the base still names the same key from the new folder
    assert rebuilt["schedule_id"] == original["schedule_id"]
    oracles = json.loads((elsewhere / "schedule.json").read_text())["oracles"]
    assert oracles[0] == os.path.join("..", "..", "oracles", "oracle-1.vkey")
    again = run("schedule", "to-csv", elsewhere / "schedule.json")
    assert again.code == 0 and again.out == recipients.read_text()


def test_from_csv_lists_every_problem_and_writes_nothing(run: Runner, examples: Path) -> None:
    recipients = examples / "bad.csv"
    recipients.write_text(
        "address,amount,milestone,vesting\n"
        "not-an-address,10,M1,2027-01-01T00:00:00Z\n"
        "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70,ten,M1,2027-01-01T00:00:00Z\n"
    )
    out = examples / "new.json"
    report = run(
        "--json", "schedule", "from-csv", recipients, "--base", examples / "schedule.json", "--out", out
    )
    assert report.code == 1
    document = report.json()
    assert [error["path"] for error in document["errors"]] == [
        "row 2, column 1 (beneficiary_address)",
        "row 3, column 2 (token_amount)",
    ]
    assert all(error["hint"] for error in document["errors"])
    assert not out.exists()


def test_from_csv_never_replaces_a_file_unless_forced(run: Runner, examples: Path) -> None:
    recipients = examples / "recipients.csv"
    run("schedule", "to-csv", examples / "schedule.json", "--out", recipients)
    target = examples / "kept.json"
    target.write_text("registered schedule")
    refused = run("schedule", "from-csv", recipients, "--base", examples / "schedule.json", "--out", target)
    assert refused.code == 2 and "already exists" in refused.err and "--force" in refused.err
    assert target.read_text() == "registered schedule"
    forced = run(
        "schedule", "from-csv", recipients, "--base", examples / "schedule.json", "--out", target, "--force"
    )
    assert forced.code == 0 and json.loads(target.read_text())["network"] == "devnet"


def test_an_oversized_csv_is_refused_before_it_is_read(run: Runner, examples: Path) -> None:
    huge = examples / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    result = run(
        "schedule", "from-csv", huge, "--base", examples / "schedule.json", "--out", examples / "x.json"
    )
    assert result.code == 1
    assert "is 52.4 MB" in result.err and "split the recipients" in result.err
    assert not (examples / "x.json").exists()
