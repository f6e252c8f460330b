"""Fixtures for milestonectl's offline commands: a private copy of the examples, and a runner."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from milestoned.commands.cli import main

# The daemon tests' helpers (daemon_process: the daemon process, `eventually`) keep their one home in
# tests/daemon; put it on the path here too, so this folder's tests run on their own as well.
DAEMON_TESTS = str(Path(__file__).resolve().parents[1] / "daemon")
if DAEMON_TESTS not in sys.path:
    sys.path.insert(0, DAEMON_TESTS)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Run]


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """The examples folder copied, with signing keys at 0600 (git does not keep that mode)."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    for key in folder.rglob("*.skey"):
        key.chmod(0o600)
    return folder


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run `milestonectl ARGS…` in this process through its real entry point."""

    def invoke(*args: str | Path) -> Run:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def quiet_daemon_logs() -> Iterator[None]:
    """An in-process daemon's log lines away from stdout, where milestonectl's answers are captured."""
    import os

    import structlog

    previous = structlog.get_config()
    with open(os.devnull, "w") as sink:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sink))
        try:
            yield
        finally:
            structlog.configure(**previous)
