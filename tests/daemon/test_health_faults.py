"""The health answer tells the truth (issue 17, point 8): a store that cannot be written (a full disk:
a small tmpfs filled up), a corrupt projections.db and a failing chain follower each make /health
answer 503 "failing" with the check and the reason, and each is counted in /metrics. The real daemon
process, its socket and HTTP endpoint, the embedded devnet."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from ci_rule import requirement_missing
from daemon_process import Daemon, short_folder, write_config
from devnet_process import free_port


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def health(port: int) -> tuple[int, dict[str, object]]:
    status, body = http_get(port, "/health")
    return status, orjson.loads(body)


def metric(port: int, name: str) -> float:
    for line in http_get(port, "/metrics")[1].decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def problem(answer: dict[str, object], check: str) -> str:
    for found in answer["problems"]:  # type: ignore[attr-defined]
        if found["check"] == check:
            return str(found["reason"])
    return ""


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A folder whose data directory is a 64 MiB tmpfs (a disk that can fill up)."""
    folder = short_folder()
    data = folder / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(data)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        reason = f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}"
        requirement_missing("the full-disk test to run", reason)  # CI must show a full disk is caught
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def fill(folder: Path) -> Path:
    """Fill the disk of `folder` to the last byte; the filler file (remove it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_makes_health_failing_with_the_reason(small_disk: Path) -> None:
    port = free_port()
    config = write_config(small_disk, http={"port": port})
    daemon = Daemon(config, small_disk / "d.sock", small_disk / "daemon.log")
    daemon.start()
    try:
        daemon.wait_until(lambda: health(port)[0] == 200, "healthy")
        assert metric(port, "milestoned_store_write_failures") == 0
        filler = fill(small_disk / "data")
        _status, answer = daemon.wait_until(
            lambda: (h := health(port)) and h[0] == 503 and problem(h[1], "store") and h, "the full disk"
        )
        assert answer["state"] == "failing"
        assert "No space left on device" in problem(answer, "store")
        assert "free space" in problem(answer, "store")  # the fix
        assert metric(port, "milestoned_store_write_failures") >= 1
        assert metric(port, "milestoned_health_problems") >= 1
        # the socket's health says the same, and the daemon keeps answering
        assert daemon.call("health")["result"]["state"] == "failing"
        filler.unlink()
        daemon.wait_until(lambda: health(port)[0] == 200, "healthy again once space is free")
    finally:
        daemon.stop()


def test_a_corrupt_projection_store_makes_health_failing_and_status_still_answers() -> None:
    folder = short_folder()
    port = free_port()
    config = write_config(folder, http={"port": port})
    daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
    daemon.start()
    try:
        daemon.wait_until(lambda: health(port)[0] == 200, "healthy")
        daemon.stop()
        store = folder / "data" / "projections.db"
        with sqlite3.connect(store) as db:  # the pages of the chain tip and the allocations
            pages = dict(
                db.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'").fetchall()
            )
        page = 4096
        with store.open("r+b") as handle:
            for table in ("proj_chain_tip", "proj_locks"):
                handle.seek((pages[table] - 1) * page)
                handle.write(b"\xa5" * page)
        daemon.start(states=("failing",))
        status, answer = daemon.wait_until(
            lambda: (h := health(port)) and problem(h[1], "projections") and h, "the corrupt projections"
        )
        assert status == 503 and answer["state"] == "failing"
        reason = problem(answer, "projections")
        assert "malformed" in reason and "move projections.db away" in reason
        assert metric(port, "milestoned_projection_failures") >= 1
        reply = daemon.call("status")  # a query that needs no projection table still answers
        assert "result" in reply and reply["result"]["state"] == "failing", reply
        # the fix the reason names: the projections are rebuilt from the log
        daemon.stop()
        os.replace(store, folder / "projections.db.corrupt")
        daemon.start()
        daemon.wait_until(lambda: health(port)[0] == 200, "healthy after the rebuild")
    finally:
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_failing_follower_makes_health_failing_with_its_reason() -> None:
    port = free_port()
    start = "100." + "0" * 64  # a point that is not on the devnet's chain: the follower cannot start
    folder = short_folder()
    config = write_config(folder, chain={"start": start}, http={"port": port})
    daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
    daemon.start(states=("failing",))
    try:
        status, answer = daemon.wait_until(
            lambda: (h := health(port)) and problem(h[1], "follower") and h, "the follower's failure"
        )
        assert status == 503 and answer["state"] == "failing"
        assert "IntersectionLost" in problem(answer, "follower")
        daemon.wait_until(lambda: metric(port, "milestoned_follower_failures") >= 2, "a second failure")
        shown = subprocess.run(
            [sys.executable, "-m", "milestoned.commands.cli", "status", "--socket", str(daemon.socket_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "failing" in shown.stdout and "problem: follower" in shown.stdout, shown
        waited = subprocess.run(
            [
                sys.executable,
                "-m",
                "milestoned.commands.cli",
                "status",
                "--wait",
                "--socket",
                str(daemon.socket_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert waited.returncode == 1 and "IntersectionLost" in waited.stderr, (
            waited
        )  # at once, not at timeout
    finally:
        daemon.stop()
        shutil.rmtree(folder, ignore_errors=True)
