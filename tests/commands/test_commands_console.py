"""The real console entry (`python -m milestoned.commands.cli`) in a subprocess: help, version, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from milestoned import __version__

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _ctl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "milestoned.commands.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version_and_help() -> None:
    version = _ctl("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"milestonectl {__version__}"
    top = _ctl("--help")
    assert top.returncode == 0
    for command in ("schedule", "attest", "keys", "--json", "exit codes"):
        assert command in top.stdout
    sign = _ctl("attest", "sign", "--help")
    assert sign.returncode == 0
    for option in ("--key", "--schedule", "--schedule-id", "--milestone", "--out", "chmod 600"):
        assert option in sign.stdout


def test_validate_invalid_example_json_in_a_subprocess() -> None:
    result = _ctl("schedule", "validate", "--json", EXAMPLES / "schedule.invalid.json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["error_count"] == len(report["errors"]) > 0
    assert result.stderr == ""


def test_usage_errors_exit_2() -> None:
    assert _ctl("schedule").returncode == 2
    assert _ctl("schedule", "validate").returncode == 2
    assert _ctl("no-such-command").returncode == 2
    assert _ctl("attest", "verify", "x.json").returncode == 2  # --schedule is required


LOG_PROBE = """
import sys
sys.argv = ["milestonectl", "--json", "--socket", "/tmp/milestoned-no-such.sock", "status"]
from milestoned.commands.cli import main
code = main()
assert "structlog" not in sys.modules, "a query imported structlog"
from milestoned.contracts.evaluation import select_evaluator
select_evaluator("uplc")  # what a command that evaluates scripts (allocation move, claim) logs first
sys.exit(code)
"""


def test_library_log_lines_go_to_stderr_and_stdout_keeps_only_the_answer() -> None:
    # stdout was the JSON answer followed by the library's log line, which `jq` or json.loads refused
    done = subprocess.run(
        [sys.executable, "-c", LOG_PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["ok"] is False  # one JSON document: the answer
    assert "phase-2 evaluation by the pure-Python uplc" in done.stderr
