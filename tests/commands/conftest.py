"""Fixtures for milestonectl's commands: a private copy of the examples, a runner, and (for the end-to-end
tests of a beneficiary's or the admin's own commands) an in-process daemon with the demo schedule."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from milestoned.commands.cli import main

if TYPE_CHECKING:
    from daemon_process import DemoDaemon

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


@pytest.fixture
async def demo_daemon(run: Runner, quiet_daemon_logs: None) -> AsyncIterator[DemoDaemon]:
    """The demo schedule on an in-process daemon (`daemon_process.DemoDaemon`), stopped after the test."""
    from daemon_process import DemoDaemon
    from rich.console import Console

    from milestoned.daemon.app import running_daemon
    from milestoned.daemon.demo_wiring import demo_config, register_demo_schedule
    from milestoned.shared.config import with_overrides

    with tempfile.TemporaryDirectory(prefix="mcd-", dir="/tmp") as name:  # short: the socket's path
        folder = Path(name)
        wallet = folder / "wallet.skey"
        config = with_overrides(demo_config(folder), release={"auto": False, "wallet_key": str(wallet)})
        async with running_daemon(config) as daemon:
            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            yield DemoDaemon(daemon, folder, Path(config.socket.path), schedule_id, wallet, run)
