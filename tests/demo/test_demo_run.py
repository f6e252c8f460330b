"""`make run` is the newcomer's first contact: the daemon on the embedded devnet with the example schedule.

Runs the real console entry in a subprocess, as `make run` does, and follows the story it tells: the
schedule registered on chain through the socket, two oracle signatures reaching quorum, the daemon's
auto-release paying the first milestone, and an event log that verifies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_make_run_demo_registers_attests_and_auto_releases() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "milestoned.daemon.cli",
            "demo",
            "--examples",
            str(EXAMPLES),
            "--linger",
            "120",
            "--exit-after-release",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )

    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert re.search(r"schedule\.register.* recorded schedule [0-9a-f]{56}", out), out
    assert "the indexer saw 10 allocations locked at the validator" in out
    assert "quorum reached: True" in out
    assert "waiting for oracles" in out  # M2 and M3 have no signatures
    assert "after auto-release" in out, "auto-release never paid M1 within the linger time"
    assert re.search(r"released", out.split("after auto-release", 1)[1])
    assert "event log OK:" in out
