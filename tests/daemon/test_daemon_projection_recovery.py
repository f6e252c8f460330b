"""Projections that cannot be trusted at start are rebuilt from the event log, with a warning: the log
restored from an older backup (projections ahead of it), or a corrupt projections database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_process import Daemon, demo_attestations, example_schedule_document, short_folder, write_config

M1 = "M1-testnet-launch"


@pytest.fixture
def folder() -> Iterator[Path]:
    made = short_folder()
    yield made
    shutil.rmtree(made, ignore_errors=True)


def _daemon(folder: Path) -> Daemon:
    return Daemon(write_config(folder), folder / "d.sock", folder / "daemon.log")


def _result(answer: dict[str, Any]) -> Any:
    assert "error" not in answer, answer
    return answer["result"]


def _replay_equal(daemon: Daemon) -> dict[str, Any]:
    replay: dict[str, Any] = _result(daemon.call("log.replay"))
    assert replay["equal"], replay
    return replay


def _copy_log(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for part in source.glob("events.db*"):
        shutil.copy2(part, target / part.name)


def test_a_log_restored_behind_the_projections_is_detected_and_they_are_rebuilt(folder: Path) -> None:
    data, backup = folder / "data", folder / "backup"
    daemon = _daemon(folder)
    daemon.start()
    try:
        _result(daemon.call("schedule.register", {"schedule": example_schedule_document()}))
    finally:
        daemon.stop()
    _copy_log(data, backup)  # the operator's backup of events.db alone

    daemon.start()
    try:
        for attestation in demo_attestations(M1, 2):  # two more events, so the projections run ahead
            _result(daemon.call("signature.commit", {"attestations": [attestation]}))
        ahead = _result(daemon.call("status"))["projections"]["position"]
    finally:
        daemon.stop()
    for part in data.glob("events.db*"):
        part.unlink()
    _copy_log(backup, data)
    # Restoring a backup on purpose also drops the recorded head (docs/operations.md, §8): kept, it says
    # events were cut off, and the daemon would rebuild the log from the chain instead of using the backup.
    (data / "log-head.json").unlink()

    daemon.start()
    try:
        assert "the projections are ahead of the event log" in daemon.logs()
        status = _result(daemon.call("status"))
        assert status["projections"]["position"] <= status["log"]["position"] < ahead
        _replay_equal(daemon)
        states = _result(daemon.call("milestones"))
        assert all(state["signatures"] == 0 for state in states)  # the signatures left with the log
    finally:
        daemon.stop()


def test_a_corrupt_projections_database_is_moved_aside_and_rebuilt(folder: Path) -> None:
    daemon = _daemon(folder)
    daemon.start()
    try:
        registered = _result(daemon.call("schedule.register", {"schedule": example_schedule_document()}))
    finally:
        daemon.stop()
    projections = folder / "data" / "projections.db"
    for part in (folder / "data").glob("projections.db-*"):
        part.unlink()
    projections.write_bytes(b"this is not a database" * 100)

    daemon.start()
    try:
        assert "the projections database is corrupt" in daemon.logs()
        assert list((folder / "data").glob("projections.db.corrupt-*"))
        _replay_equal(daemon)
        milestones = _result(daemon.call("milestones", {"schedule_id": registered["schedule_id"]}))
        assert {m["milestone"] for m in milestones} >= {M1}
    finally:
        daemon.stop()
