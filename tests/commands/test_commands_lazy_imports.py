"""A query must not pay for the schedule reader, pycardano or the transaction builder: those take about a
second to import, and `milestonectl status` or `milestones` needs none of them (bench: cli.query_s)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "pycardano",
    "milestoned.commands.schedule_source",
    "milestoned.txbuilder",
    "rich.progress",
    "importlib.metadata",
)

PROBE = """
import sys
from milestoned.commands.cli import main
for command in (["status"], ["milestones"], ["claimable"], ["schedules"], ["submissions"]):
    assert main(["--socket", "/tmp/milestoned-no-such.sock", *command]) == 2
print(",".join(name for name in {heavy!r} if name in sys.modules))
"""


def test_queries_import_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported by a query: {done.stdout.strip()}"
