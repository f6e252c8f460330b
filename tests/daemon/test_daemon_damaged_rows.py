"""A row the daemon cannot read (an unknown topic, a record that is not JSON) is named by its position at
start, never a Python traceback, and never appended to: the daemon process starts, moves the store
aside, and answers on its socket with the problem in its recovery status."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from daemon_process import Daemon, demo_attestations, example_schedule_document, short_folder, write_config

M1 = "M1-testnet-launch"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            "UPDATE stored_events SET topic = 'NoSuchEvent/v1' WHERE originator_version = 2",
            "unknown event topic",
        ),
        ("UPDATE stored_events SET state = X'7b6e6f74206a736f6e' WHERE originator_version = 2", "not JSON"),
    ],
)
def test_an_unreadable_row_is_named_at_start_and_never_appended_to(statement: str, problem: str) -> None:
    folder = short_folder()
    daemon = Daemon(write_config(folder), folder / "d.sock", folder / "daemon.log")
    try:
        daemon.start()
        assert "error" not in daemon.call("schedule.register", {"schedule": example_schedule_document()})
        assert "error" not in daemon.call("signature.commit", {"attestations": demo_attestations(M1, 2)})
        daemon.stop()
        with sqlite3.connect(folder / "data" / "events.db") as db:
            db.execute(statement)

        daemon.start(states=("synced", "syncing", "recovering"))
        recovery = daemon.call("status")["result"]["recovery"]
        assert any(reason.startswith("position 2:") and problem in reason for reason in recovery["reasons"])
        logs = daemon.logs()
        assert "Traceback" not in logs
        assert "position 2" in logs and problem in logs
        moved = list((folder / "data").glob("damaged-*/events.db"))
        assert len(moved) == 1  # kept aside, never deleted, never appended to
        with sqlite3.connect(moved[0]) as db:
            [(rows,)] = db.execute("SELECT count(*) FROM stored_events").fetchall()
        assert rows >= 3
    finally:
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)
