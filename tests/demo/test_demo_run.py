"""`make run` is the newcomer's first contact: the demo must start, show the schedule and finish cleanly."""

from __future__ import annotations

import subprocess
import sys

from milestoned.commands.schedule_identity import schedule_identity
from milestoned.commands.schedule_source import read_schedule
from milestoned.demo import EXAMPLES


def test_demo_shows_the_example_schedule_on_a_running_devnet() -> None:
    definition = read_schedule(EXAMPLES / "schedule.json").definition
    assert definition is not None
    expected_id = schedule_identity(definition).schedule_id.hex()

    result = subprocess.run(
        [sys.executable, "-m", "milestoned.daemon.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "ws://127.0.0.1:" in result.stdout
    assert expected_id in result.stdout
    assert "claimable" in result.stdout and "milestone_not_verified" in result.stdout
