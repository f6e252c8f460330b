"""`kill -9` drill: a child appends blocks and projects; we kill it at random moments, at least 20 times
(each child forked by a server that imported its modules once: tests/fork_server.py).

Afterwards: no gap and no duplicate in the log, the hash chain intact, every acknowledged append still
there, the projections at their recorded position equal to a clean replay up to that position, and
after catch-up equal to a full clean replay.
"""

from __future__ import annotations

import functools
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from milestoned.eventlog.events import AllocationLocked, AllocationReclaimed, AllocationReleased
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import TEST_SLOTS, StoreHarness
from milestoned.eventlog.verify import verify
from milestoned.projections.changes import changes_for
from milestoned.projections.projector import Projector
from milestoned.projections.replay import replay
from milestoned.projections.store import ProjectionStore

KILLS = 20
CHILD = Path(__file__).with_name("kill9_appender.py")


def journal_lines(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().splitlines() if line.strip()]


def appender_failed(server: subprocess.Popen[str], stderr: Path) -> str | None:
    """Why the drill cannot go on (the fork server ended, or the appender wrote a traceback), or None."""
    if server.poll() is not None:
        return f"the fork server exited with {server.returncode}"
    text = stderr.read_text(errors="replace") if stderr.exists() else ""
    return f"the appender failed: {text[-2000:]}" if "Traceback" in text else None


def wait_for_progress(
    failed: Callable[[], str | None], journal: Path, seen: int, timeout_s: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while len(journal_lines(journal)) <= seen:
        problem = failed()
        if problem is not None:
            pytest.fail(problem)
        if time.monotonic() > deadline:
            pytest.fail("appender child made no progress")
        time.sleep(0.01)


def test_kill_9_never_duplicates_or_loses_events(store: StoreHarness, tmp_path: Path) -> None:
    log_cfg, proj_cfg = store.config("log"), store.config("proj")
    journal = tmp_path / "journal"
    rng = random.Random(4)
    # the appenders are forked by a server that imported their modules once (tests/fork_server.py)
    server = subprocess.Popen(
        [sys.executable, str(CHILD), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        assert server.stdout.readline() == "ready\n"
        for round_number in range(KILLS):
            seen = len(journal_lines(journal))
            stderr = tmp_path / f"appender-{round_number}.err"
            arguments = (log_cfg.describe(), proj_cfg.describe(), str(journal), str(round_number))
            server.stdin.write(f"start {stderr} {' '.join(arguments)}\n")
            started = server.stdout.readline().split()
            assert started[:1] == ["appending"], (started, stderr.read_text(errors="replace"))
            wait_for_progress(functools.partial(appender_failed, server, stderr), journal, seen)
            time.sleep(rng.uniform(0, 0.25))
            server.stdin.write(f"kill {started[1]}\n")
            assert server.stdout.readline() == "killed -9\n", stderr.read_text(errors="replace")
    finally:
        server.stdin.close()
        server.wait(60)

    with EventLog(log_cfg) as log, ProjectionStore(proj_cfg) as live:
        report = verify(log)
        assert report.ok, report.summary()
        head = log.head(refresh=True)
        assert report.events_checked == head.position  # positions 1..N, no gap, no repeat
        acknowledged = journal_lines(journal)
        assert len(acknowledged) >= KILLS
        assert max(acknowledged) <= head.position  # nothing acknowledged was lost
        events = [e.event for e in log.iter_events()]
        tx_ids = Counter(
            e.tx_id
            for e in events
            if isinstance(e, AllocationLocked | AllocationReleased | AllocationReclaimed)
        )
        assert tx_ids and max(tx_ids.values()) == 1, "an event was appended twice"

        # The projections as the last kill left them equal a clean replay up to their position.
        position = live.position()
        assert 0 < position <= head.position
        upto = ProjectionStore(store.config("upto"))
        changes = [c for e in log.read(after=0, limit=position) for c in changes_for(e.event, TEST_SLOTS)]
        upto.apply(changes, position)
        assert live.dump() == upto.dump()

        Projector(log, live, TEST_SLOTS).catch_up()
        clean = ProjectionStore(store.config("clean"))
        replay(log, clean, TEST_SLOTS)
        assert live.dump() == clean.dump()
        upto.close()
        clean.close()
