"""The audit against the log of a daemon that registered the schedule itself (its log knows it by the
local `ScheduleRegistered`, each lock at its own block), on the daemon's embedded devnet, its clock
running: the chain's facts and the log's agree, and the audit reconciles the schedule from the chain."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from milestoned.commands.cli import main
from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import demo_config, register_demo_schedule
from milestoned.eventlog import EventLog, SQLiteConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def audit(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["audit", *args, "--json"])
    return code, json.loads(out.getvalue())


async def test_the_log_of_a_daemon_that_registered_the_schedule_agrees_with_the_chain() -> None:
    with tempfile.TemporaryDirectory(prefix="mda-", dir="/tmp") as folder:
        config = demo_config(Path(folder))
        async with running_daemon(config) as daemon:
            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            events_db = Path(folder) / "events.db"
            with EventLog(SQLiteConfig(events_db)) as log:
                topics = {logged.event.topic for logged in log.iter_events()}
            assert "ScheduleRegistered/v1" in topics and "ScheduleDiscovered/v1" not in topics
            code, report = await asyncio.to_thread(
                audit, "--ogmios", daemon.devnet.url, "--from", "origin", "--against-log", str(events_db)
            )
    assert code == 0, report
    [schedule] = report["schedules"]
    assert schedule["schedule_id"] == schedule_id and schedule["derives_policy_id"] and schedule["ok"]
    total = schedule["reconciliation"]["total"]
    assert total["allocated"] == total["still_locked"] == 2_080_000  # examples/schedule.json's total
    against = report["against_log"]
    assert against["differences"] == [] and against["compared"] == 11  # the schedule and its 10 locks
