"""A second `milestoned run` with the same configuration, or with its own socket on the same SQLite store,
is refused with a clear error and leaves the first daemon reachable (SQLite is for one daemon)."""

from __future__ import annotations

import subprocess
import sys

from daemon_process import REPO, running, short_folder, write_config


def test_a_refused_second_daemon_does_not_unlink_the_first_ones_socket() -> None:
    folder = short_folder()
    with running(folder) as first:
        inode = first.socket_path.stat().st_ino
        second = subprocess.run(
            [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(first.config)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            check=False,
        )
        assert second.returncode != 0
        output = second.stdout + second.stderr
        assert "already used by another milestoned" in output
        pid = first.call("status")["result"]["pid"]
        assert f"pid {pid}" in output, "the refusal names the daemon that holds the store"
        assert first.socket_path.exists(), "the refused daemon deleted the live daemon's socket"
        assert first.socket_path.stat().st_ino == inode
        assert "result" in first.call("status")


def test_a_second_daemon_with_its_own_socket_on_the_same_sqlite_store_is_refused() -> None:
    """Two daemons appending to one SQLite file would race for every position and both run releases;
    the second is refused at start (before it moves anything aside or opens a socket), naming the first,
    SQLite, and PostgreSQL as the way to run several."""
    folder = short_folder()
    with running(folder) as first:
        (folder / "second").mkdir()
        second_config = write_config(
            folder / "second",
            store={"data_dir": str(folder / "data")},
            socket={"path": str(folder / "s.sock")},
        )
        head = first.call("status")["result"]["log"]["position"]
        second = subprocess.run(
            [sys.executable, "-m", "milestoned.daemon.cli", "run", "--config", str(second_config)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            check=False,
        )
        output = second.stdout + second.stderr
        assert second.returncode != 0
        assert "SQLite is for one daemon" in output
        assert "PostgreSQL" in output
        assert f"pid {first.call('status')['result']['pid']}" in output
        assert not (folder / "s.sock").exists()
        status = first.call("status")["result"]
        assert status["log"]["position"] >= head
        assert first.call("log.verify")["result"]["ok"]
