"""Requests over the daemon's size limit: the size error is shown (not "Broken pipe"), and a schedule too
large for one request is sent in parts and registered."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))
from daemon_process import Daemon, running, short_folder

LIMIT = 1024


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with running(short_folder(), socket={"max_request_bytes": LIMIT}) as started:
        yield started


def test_an_oversized_request_shows_the_size_error(run: Any, daemon: Daemon, tmp_path: Path) -> None:
    big = tmp_path / "big.signed.json"
    big.write_text(json.dumps({"type": "Tx ConwayEra", "description": "", "cborHex": "84" * 200_000}))
    answer = run("--socket", daemon.socket_path, "tx", "submit", big)
    assert answer.code == 1
    assert f"larger than the limit of {LIMIT} bytes" in answer.err
    assert "max_request_bytes" in answer.err and "Broken pipe" not in answer.err


def test_a_schedule_over_the_limit_is_registered_in_parts(run: Any, daemon: Daemon, examples: Path) -> None:
    schedule = examples / "schedule.json"
    registered = run("--socket", daemon.socket_path, "schedule", "register", schedule)
    assert registered.code == 0, registered.err
    assert "sending it in" in registered.out and "registered (log position" in registered.out
    expected = run("--json", "schedule", "validate", schedule).json()["schedule_id"]
    listed = run("--json", "--socket", daemon.socket_path, "schedules").json()["result"]
    assert [row["schedule_id"] for row in listed] == [expected]
    again = run("--socket", daemon.socket_path, "schedule", "register", schedule)
    assert again.code == 0 and "already registered" in again.out
