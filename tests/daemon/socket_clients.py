"""Clients of the daemon's socket that run as another user, for the lock-out tests.

Root is always an admin, so a test that needs a non-admin caller forks a child that drops to another
uid (no exec: the venv's interpreter may not be readable by that user) and reports through a pipe.
The daemon's socket group must let that user in (`socket.group = "nogroup"`, gid 65534).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

NOGROUP = 65534
NOBODY = 65534
OTHER_USER = 4242
"""A uid with no account: a second non-admin user, in the socket's group through its gid."""
STATUS = b'{"jsonrpc":"2.0","id":1,"method":"status"}\n'


def first_line(sock: socket.socket) -> bytes:
    buffer = b""
    while b"\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return buffer.split(b"\n", 1)[0]


def one_call(path: Path, request: bytes = STATUS, timeout: float = 20.0) -> dict[str, object]:
    """One request on a new connection; the decoded answer (raises if none came within `timeout`)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        # the daemon may answer and close first (a refusal): its answer is still there to read
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return orjson.loads(first_line(sock))


@dataclass
class Child:
    """A forked child running as `uid`; `read()` returns what it wrote to its pipe."""

    pid: int
    fd: int
    buffer: bytes = field(default=b"")

    def read_until(self, marker: bytes, timeout: float = 60.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"the child did not report {marker!r} within {timeout} s")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.buffer += chunk
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def finish(self, timeout: float = 120.0) -> bytes:
        rest = self.read_until(b"\0end\0", timeout)
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        assert status == 0, f"the client running as another user failed: {rest!r}"
        return rest


def fork_as(uid: int, job: Callable[[Callable[[bytes], None]], bytes], gid: int = NOGROUP) -> Child:
    """Run `job(report)` in a child as `uid`/`gid`; `report(b)` sends progress, the return value is last."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, report, leave without pytest's cleanup
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            result = job(lambda data: _write_all(write_end, data))
            _write_all(write_end, result + b"\0end\0")
            status = 0
        except BaseException as exc:  # reported to the parent, which fails the test
            _write_all(write_end, repr(exc).encode() + b"\0end\0")
        finally:
            os._exit(status)
    os.close(write_end)
    return Child(pid, read_end)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]
