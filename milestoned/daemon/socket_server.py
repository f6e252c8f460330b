"""The command socket: a Unix stream socket speaking line-delimited JSON-RPC 2.0.

What it guarantees, whatever a client sends:
- the socket file is created with the configured mode (0660) and group before anyone can connect
  (the umask is tightened around `bind`, then the mode and group are set explicitly);
- no one can lock others out: a non-admin uid holds at most `max_connections_per_uid` connections, and
  the last `admin_reserved_connections` slots are for admins (`connection_limits`); a client refused a
  slot gets TOO_MANY_CONNECTIONS, not a hang;
- slow or silent clients lose their slot: a request line must arrive within `read_timeout` of its first
  byte (so one byte a second does not hold a connection), a connection with no request for
  `idle_timeout` is closed, and an answer the client does not read within `read_timeout` closes it;
- every request line is at most `max_request_bytes`; a longer one gets REQUEST_TOO_LARGE. The rest of
  the line is read and thrown away first (up to DISCARD_LIMIT_BYTES more), so that a client still
  sending sees the error instead of a reset connection; then the connection is closed (the rest of
  the line cannot be trusted to be a request);
- malformed JSON, an unknown method, wrong parameters: a JSON-RPC error, and the connection stays open;
- a handler that fails unexpectedly gives INTERNAL_ERROR with the reason, is logged, and the daemon keeps
  serving: an exception never leaves a connection task;
- mutating methods are refused to callers that are not admins (`peercred`), before the handler runs;
- while a read-only request is answered, the daemon's background threads pause at their next safe
  point (`query_priority`), so a burst of queries is not shared with a catch-up.
Handlers that commit events do so in one log append, so a request either committed or did not.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.connection_limits import ConnectionLimits
from milestoned.daemon.jsonrpc import RpcError
from milestoned.daemon.peercred import AdminPolicy, Peer, peer_of
from milestoned.daemon.query_priority import QueryPriority

log = structlog.get_logger("milestoned.socket")

Handler = Callable[[dict[str, Any], Peer], Awaitable[Any]]
READ_CHUNK = 65536
REFUSAL_LINGER_S = 1.0
"""How long a refused connection stays open to take the client's request before it is closed."""
DISCARD_LIMIT_BYTES = 64 * 1024 * 1024
"""How much of an over-long request is read and thrown away so its sender can read the error."""


class _Closed(Exception):
    """The connection ends here (end of input, a timeout, an over-long request): stop quietly."""


@dataclass(frozen=True, slots=True)
class Method:
    handler: Handler
    mutating: bool
    summary: str


class SocketServer:
    def __init__(
        self,
        path: Path,
        methods: Mapping[str, Method],
        admins: AdminPolicy,
        *,
        mode: int = 0o660,
        group: str = "",
        max_request_bytes: int = 4 * 1024 * 1024,
        max_connections: int = 64,
        max_connections_per_uid: int = 16,
        admin_reserved_connections: int = 4,
        read_timeout: float = 30.0,
        idle_timeout: float = 300.0,
        priority: QueryPriority | None = None,
    ) -> None:
        self.path = path
        self.methods = methods
        self.admins = admins
        self.mode = mode
        self.group = group
        self.max_request_bytes = max_request_bytes
        self.limits = ConnectionLimits(max_connections, max_connections_per_uid, admin_reserved_connections)
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.priority = priority or QueryPriority()
        """Counts the read-only requests being answered, for the background threads to pause for."""
        self.connections_refused = 0
        self.connections_timed_out = 0
        self.requests_too_large = 0
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.requests_served = 0
        self.requests_failed = 0
        self._created: tuple[int, int] | None = None
        """(device, inode) of the socket file this server bound; None until it has. Only that file is
        ever removed on stop: a second daemon refused at start must not unlink the first one's socket."""

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if not self.path.is_socket():
                raise RuntimeError(
                    f"{self.path} exists and is not a socket; remove it or choose another socket.path"
                )
            if await _socket_answers(self.path):
                raise RuntimeError(
                    f"another process is already serving {self.path}; stop it first or choose another "
                    "socket.path"
                )
            self.path.unlink()  # stale, from a daemon that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # nobody but us can connect between bind and chmod
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        created = os.stat(self.path)
        self._created = (created.st_dev, created.st_ino)
        try:
            if self.group:
                os.chown(self.path, -1, grp.getgrnam(self.group).gr_gid)
            os.chmod(self.path, self.mode)
        except (OSError, KeyError) as exc:
            sock.close()
            self._remove_own_socket_file()
            raise RuntimeError(
                f"cannot give {self.path} to group {self.group!r} with mode {self.mode:04o}: {exc}; "
                "the daemon's user must be a member of that group "
                f"(systemd: SupplementaryGroups={self.group})"
            ) from exc
        self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=READ_CHUNK)
        log.info(
            "socket listening", socket_path=str(self.path), mode=oct(self.mode), group=self.group or None
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        self._remove_own_socket_file()

    def _remove_own_socket_file(self) -> None:
        """Unlink the socket file only if it is still the one this server created."""
        if self._created is None:
            return
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return
        if (current.st_dev, current.st_ino) == self._created:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._created = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        admitted: Peer | None = None
        try:
            sock = writer.get_extra_info("socket")
            peer = peer_of(sock, self.admins) if sock is not None else Peer(-1, -1, -1, frozenset())
            refusal = self.limits.admit(peer.uid, self.admins.is_admin(peer))
            if refusal is not None:
                self.connections_refused += 1
                log.warning("connection refused", peer=peer.describe(), reason=refusal.message)
                error = RpcError(jsonrpc.TOO_MANY_CONNECTIONS, refusal.message, refusal.hint)
                await self._send(writer, jsonrpc.error_line(None, error))
                # take the request the client is sending (briefly), so that closing does not break
                # its send before it reads the answer
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read(READ_CHUNK), REFUSAL_LINGER_S)
                return
            admitted = peer
            await self._conversation(reader, writer, peer)
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # never let a connection take the daemon down
            log.exception("connection failed")
        finally:
            if admitted is not None:
                self.limits.release(admitted.uid)
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _conversation(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        """Read request lines and answer each, until the client closes or breaks a rule."""
        buffer = bytearray()
        line_started = time.monotonic()
        while True:
            newline = buffer.find(b"\n")
            if newline >= 0:
                line = bytes(buffer[: newline + 1])
                del buffer[: newline + 1]
                if len(line) > self.max_request_bytes + 1:
                    await self._too_large(reader, writer, peer, line_complete=True)
                if line.strip():
                    await self._answer(writer, peer, line)
                line_started = time.monotonic()
                continue
            if len(buffer) > self.max_request_bytes:
                await self._too_large(reader, writer, peer, line_complete=False)
            if buffer:  # a request has started: all of it must arrive within the read timeout
                wait = line_started + self.read_timeout - time.monotonic()
                chunk = await self._read(reader, wait, writer, peer, "the rest of the request")
            else:
                chunk = await self._read(reader, self.idle_timeout, writer, peer, "a request")
                line_started = time.monotonic()
            if not chunk:
                if buffer.strip():
                    await self._answer(writer, peer, bytes(buffer))  # last request without newline
                return
            buffer += chunk

    async def _read(
        self,
        reader: asyncio.StreamReader,
        timeout: float,
        writer: asyncio.StreamWriter,
        peer: Peer,
        what: str,
    ) -> bytes:
        try:
            if timeout <= 0:
                raise TimeoutError
            async with asyncio.timeout(timeout):  # no task per read, unlike wait_for: one per request
                return await reader.read(READ_CHUNK)
        except TimeoutError:
            self.connections_timed_out += 1
            idle = what == "a request"
            seconds = self.idle_timeout if idle else self.read_timeout
            log.info("connection timed out", peer=peer.describe(), waiting_for=what, seconds=seconds)
            error = RpcError(
                jsonrpc.REQUEST_TIMEOUT,
                f"closing the connection: {what} did not arrive within {seconds:g} s",
                "send each request as one line at once, and reconnect after being idle"
                if not idle
                else "reconnect when you have a request (socket.idle_timeout_seconds)",
            )
            await self._send(writer, jsonrpc.error_line(None, error))
            raise _Closed from None

    async def _too_large(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: Peer,
        *,
        line_complete: bool,
    ) -> None:
        """Answer REQUEST_TOO_LARGE, read the rest of the line (bounded) so the sender sees it, close."""
        self.requests_failed += 1
        self.requests_too_large += 1
        log.warning("request too large", peer=peer.describe(), limit=self.max_request_bytes)
        error = RpcError(
            jsonrpc.REQUEST_TOO_LARGE,
            f"the request is larger than the limit of {self.max_request_bytes} bytes",
            "send a smaller request, or raise socket.max_request_bytes in the daemon's config",
            limit=self.max_request_bytes,
        )
        await self._send(writer, jsonrpc.error_line(None, error))
        discarded = 0
        deadline = time.monotonic() + self.read_timeout
        while not line_complete and discarded < DISCARD_LIMIT_BYTES:
            try:
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), deadline - time.monotonic())
            except TimeoutError:
                break
            discarded += len(chunk)
            line_complete = not chunk or b"\n" in chunk
        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
        raise _Closed

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write an answer; a client that does not read it within the read timeout is dropped."""
        writer.write(data)
        try:
            async with asyncio.timeout(self.read_timeout):
                await writer.drain()
        except TimeoutError:
            self.connections_timed_out += 1
            raise _Closed from None

    async def _answer(self, writer: asyncio.StreamWriter, peer: Peer, line: bytes) -> None:
        await self._send(writer, await self.handle_line(line, peer))

    async def handle_line(self, line: bytes, peer: Peer) -> bytes:
        """The response line for one request line (also the unit the tests drive without a socket)."""
        request_id: int | str | None = None
        try:
            request = jsonrpc.parse_request(line)
            request_id = request.id
            method = self.methods.get(request.method)
            if method is None:
                raise RpcError(
                    jsonrpc.METHOD_NOT_FOUND,
                    f"unknown method {request.method!r}",
                    f"methods: {', '.join(sorted(self.methods))}",
                )
            if method.mutating and not self.admins.is_admin(peer):
                log.warning("refused a mutating request", method=request.method, peer=peer.describe())
                raise RpcError(
                    jsonrpc.PERMISSION_DENIED,
                    f"{request.method} changes the daemon's state and {peer.describe()} is not an admin",
                    "run it as root or as a user in socket.admin_uids / "
                    "socket.admin_gids / socket.admin_group",
                )
            if method.mutating:
                result = await method.handler(request.params, peer)
            else:
                with self.priority.answering():
                    result = await method.handler(request.params, peer)
        except RpcError as error:
            self.requests_failed += 1
            if request_id is None and "id" in error.data:
                request_id = error.data.pop("id")
            return jsonrpc.error_line(request_id, error)
        except Exception as exc:
            self.requests_failed += 1
            log.exception("request failed", request_id=request_id)
            return jsonrpc.error_line(
                request_id,
                RpcError(
                    jsonrpc.INTERNAL_ERROR,
                    f"the daemon failed to answer: {type(exc).__name__}: {exc}",
                    "nothing was committed by this request; see the "
                    "daemon's log and report it if it persists",
                ),
            )
        self.requests_served += 1
        return jsonrpc.result_line(request_id, result)


async def _socket_answers(path: Path) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True
