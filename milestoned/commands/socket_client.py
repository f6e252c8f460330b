"""milestonectl's side of the command socket: one JSON-RPC request per line, one answer per line.

Synchronous on purpose: a command asks one question (or a few) and prints the answer; a blocking socket
with a timeout is the simplest thing that cannot hang forever. Every way the conversation can fail (no
daemon, no permission on the socket, a daemon error) becomes a `CommandError` that says what to do.

The socket path: `--socket PATH`, else `$MILESTONED_SOCKET`, else `$MILESTONED_SOCKET_PATH` (the
daemon's own override variable, so one environment file serves both), else the packaged default.
"""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path
from typing import Any

import orjson

from milestoned.commands.output import CommandError, ExitCode

DEFAULT_SOCKET = Path("/run/milestoned/milestoned.sock")
DEFAULT_TIMEOUT_S = 120.0
MAX_ANSWER_BYTES = 256 * 1024 * 1024
PERMISSION_DENIED = -32001
REQUEST_TOO_LARGE = -32002
INVALID_PARAMS = -32602


def socket_path(option: str | Path | None = None) -> Path:
    if option:
        return Path(option)
    for variable in ("MILESTONED_SOCKET", "MILESTONED_SOCKET_PATH"):
        if os.environ.get(variable):
            return Path(os.environ[variable])
    return DEFAULT_SOCKET


class DaemonRefused(CommandError):
    """The daemon answered with a JSON-RPC error; `code` and `data` are kept for --json output."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        data = error.get("data") or {}
        message = str(error.get("message", "the daemon refused the request"))
        hint = str(data.get("hint", "")) if isinstance(data, dict) else ""
        code = int(error.get("code", 0))
        usage = code in (PERMISSION_DENIED, INVALID_PARAMS)  # the request itself was wrong, as asked
        super().__init__(message, hint, ExitCode.USAGE if usage else ExitCode.FAILED)
        self.method = method
        self.code = code
        self.data = data if isinstance(data, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "code": self.code, "data": self.data}


class DaemonClient:
    """A connection to the daemon's socket (use as a context manager, or call `call` once)."""

    def __init__(self, path: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._ids = itertools.count(1)

    def __enter__(self) -> DaemonClient:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_s)
        try:
            sock.connect(str(self.path))
        except FileNotFoundError:
            sock.close()
            raise CommandError(
                f"no daemon socket at {self.path}",
                "start the daemon (systemctl start milestoned, or milestoned run --config FILE), or point "
                "--socket / $MILESTONED_SOCKET at its socket.path",
            ) from None
        except PermissionError:
            sock.close()
            raise CommandError(
                f"permission denied on {self.path}",
                "add your user to the socket's group (socket.group in "
                "the daemon's config), then log in again",
            ) from None
        except ConnectionRefusedError:
            sock.close()
            raise CommandError(
                f"nothing is listening on {self.path} (a stale socket file)",
                "the daemon is not running: start it, or check `journalctl -u milestoned`",
            ) from None
        except OSError as exc:
            sock.close()
            raise CommandError(f"cannot connect to {self.path}: {exc}", "check --socket") from None
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """The result of `method`, or DaemonRefused with the daemon's message and fix."""
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        request_id = next(self._ids)
        line = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        try:
            try:
                self._sock.sendall(line + b"\n")
            except (BrokenPipeError, ConnectionResetError) as broken:
                answer = self._answer_after_broken_send(method, len(line) + 1, broken)
            else:
                answer = self._read_line()
        except TimeoutError:
            raise CommandError(
                f"the daemon did not answer {method} within {self.timeout_s:.0f} s",
                "check its log (journalctl -u milestoned); it may be busy replaying",
            ) from None
        except OSError as exc:
            raise CommandError(
                f"the connection to the daemon broke: {exc}", "check the daemon's log"
            ) from None
        try:
            document = orjson.loads(answer)
        except orjson.JSONDecodeError:
            raise CommandError(
                "the daemon sent an answer that is not JSON", "check the socket path"
            ) from None
        if "error" in document:
            raise DaemonRefused(method, document["error"])
        return document.get("result")

    def _answer_after_broken_send(self, method: str, size: int, broken: OSError) -> bytes:
        """The daemon closed the connection while we were still sending: it may have said why first
        (a request over its size limit is answered -32002, read up to a bound, then closed)."""
        try:
            return self._read_line()
        except (OSError, CommandError):
            raise CommandError(
                f"the daemon closed the connection while {method} ({size:,} bytes) was being sent: {broken}",
                "the daemon refuses requests over its socket.max_request_bytes (4 MiB by default): send "
                "less at once, or raise that limit; otherwise check the daemon's log",
            ) from None

    def _read_line(self) -> bytes:
        """One answer line. Linear in its size: the buffer grows in place and only the bytes just
        received are searched for the newline (appending to `bytes` and searching it all on every
        chunk made a 32 MiB answer take 20 s, and one of 128 MiB end at the timeout, not at the limit).
        """
        assert self._sock is not None
        searched = 0
        while (end := self._buffer.find(b"\n", searched)) < 0:
            searched = len(self._buffer)
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                raise CommandError(
                    "the daemon closed the connection without answering", "check the daemon's log"
                )
            self._buffer += chunk
            if len(self._buffer) > MAX_ANSWER_BYTES:
                raise CommandError("the daemon's answer is too large", "narrow the query")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line


def call(path: Path, method: str, params: dict[str, Any] | None = None) -> Any:
    with DaemonClient(path) as client:
        return client.call(method, params)
