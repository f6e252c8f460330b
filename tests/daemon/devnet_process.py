"""A devnet in its own process that outlives the daemon (as a cardano-node does): the daemon's restarts
resume the same chain, and a test can stop it to cut the daemon off from Ogmios."""

from __future__ import annotations

import collections
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from daemon_process import REPO

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DevnetProcess:
    port: int
    process: subprocess.Popen[bytes]
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))
    """The devnet's last lines of output (read continuously: an unread pipe would fill and stall it)."""

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
    devnet = DevnetProcess(port, process)
    threading.Thread(target=_drain, args=(process, devnet.output), daemon=True).start()
    return devnet


def _drain(process: subprocess.Popen[bytes], into: collections.deque[str]) -> None:
    assert process.stdout is not None
    try:
        for raw in process.stdout:
            into.append(raw.decode(errors="replace"))
    except (ValueError, OSError):  # the pipe closed by whoever stopped the devnet
        return


@contextmanager
def devnet_running(slot_length: float = 0.2) -> Iterator[DevnetProcess]:
    devnet = start_devnet(slot_length=slot_length)
    try:
        yield devnet
    finally:
        devnet.stop()


class DevnetThread:
    """A devnet running in a thread of the test process (its own event loop), so a test can fund
    addresses, hold blocks and read the mempool while the daemon runs as a process against it, and
    restart the daemon on the same chain."""

    def __init__(self, slot_length: float = 0.2) -> None:
        import asyncio
        import threading

        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.devnet: Any = None
        self._thread = threading.Thread(target=self._run, args=(slot_length,), daemon=True)
        self._thread.start()
        if not self._ready.wait(60) or self.devnet is None:
            raise AssertionError("the devnet thread did not start")

    def _run(self, slot_length: float) -> None:
        import asyncio

        from milestoned.devnet.service import run_devnet

        async def main() -> None:
            self._stop = asyncio.Event()
            async with run_devnet(port=0, slot_length=slot_length) as devnet:
                self.devnet = devnet
                self._ready.set()
                await self._stop.wait()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(main())

    @property
    def url(self) -> str:
        return str(self.devnet.url)

    def call(self, function: Callable[[Any], T]) -> T:
        """Run `function(devnet)` on the devnet's loop (the only thread that may touch it)."""
        import asyncio

        async def run() -> T:
            return function(self.devnet)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(60)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@contextmanager
def devnet_thread(slot_length: float = 0.2) -> Iterator[DevnetThread]:
    devnet = DevnetThread(slot_length)
    try:
        yield devnet
    finally:
        devnet.stop()
