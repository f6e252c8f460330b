"""A devnet in its own process that outlives the daemon (as a cardano-node does): the daemon's restarts
resume the same chain, and a test can stop it to cut the daemon off from Ogmios."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from daemon_process import REPO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DevnetProcess:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def start_devnet(port: int | None = None, slot_length: float = 0.2) -> DevnetProcess:
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milestoned.daemon.cli",
            "devnet",
            "--port",
            str(port),
            "--slot-length",
            str(slot_length),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    assert process.stdout is not None
    for _ in range(50):
        line = process.stdout.readline().decode()
        if "Ogmios URL" in line or not line:
            break
    assert process.poll() is None, "the devnet did not start"
    return DevnetProcess(port, process)


@contextmanager
def devnet_running(slot_length: float = 0.2) -> Iterator[DevnetProcess]:
    devnet = start_devnet(slot_length=slot_length)
    try:
        yield devnet
    finally:
        devnet.stop()
