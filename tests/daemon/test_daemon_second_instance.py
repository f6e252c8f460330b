"""A second `milestoned run` with the same configuration is refused and leaves the first daemon reachable."""

from __future__ import annotations

import subprocess
import sys

from daemon_process import REPO, running, short_folder


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
        assert "already serving" in second.stdout + second.stderr
        assert first.socket_path.exists(), "the refused daemon deleted the live daemon's socket"
        assert first.socket_path.stat().st_ino == inode
        assert "result" in first.call("status")
