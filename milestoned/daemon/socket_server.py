"""The command socket: a Unix stream socket speaking line-delimited JSON-RPC 2.0.

What it guarantees, whatever a client sends:
- the socket file is created with the configured mode (0660) and group before anyone can connect
  (the umask is tightened around `bind`, then the mode and group are set explicitly);
- every request line is at most `max_request_bytes`; a longer one gets REQUEST_TOO_LARGE and the
  connection is closed (the rest of the line cannot be trusted to be a request);
- malformed JSON, an unknown method, wrong parameters: a JSON-RPC error, and the connection stays open;
- a handler that fails unexpectedly gives INTERNAL_ERROR with the reason, is logged, and the daemon keeps
  serving: an exception never leaves a connection task;
- mutating methods are refused to callers that are not admins (`peercred`), before the handler runs.
Handlers that commit events do so in one log append, so a request either committed or did not.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError
from milestoned.daemon.peercred import AdminPolicy, Peer, peer_of

log = structlog.get_logger("milestoned.socket")

Handler = Callable[[dict[str, Any], Peer], Awaitable[Any]]


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
    ) -> None:
        self.path = path
        self.methods = methods
        self.admins = admins
        self.mode = mode
        self.group = group
        self.max_request_bytes = max_request_bytes
        self._slots = asyncio.Semaphore(max_connections)
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
        self._server = await asyncio.start_unix_server(
            self._serve, sock=sock, limit=self.max_request_bytes + 1
        )
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
        try:
            async with self._slots:
                sock = writer.get_extra_info("socket")
                peer = peer_of(sock) if sock is not None else Peer(-1, -1, -1, frozenset())
                await self._conversation(reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # never let a connection take the daemon down
            log.exception("connection failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _conversation(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as partial:
                if partial.partial.strip():
                    await self._answer(writer, peer, partial.partial)  # last request without newline
                return
            except asyncio.LimitOverrunError:
                self.requests_failed += 1
                error = RpcError(
                    jsonrpc.REQUEST_TOO_LARGE,
                    f"the request is larger than the limit of {self.max_request_bytes} bytes",
                    "send a smaller request, or raise socket.max_request_bytes in the daemon's config",
                    limit=self.max_request_bytes,
                )
                writer.write(jsonrpc.error_line(None, error))
                await writer.drain()
                log.warning("request too large", peer=peer.describe(), limit=self.max_request_bytes)
                return
            if len(line) > self.max_request_bytes + 1:
                self.requests_failed += 1
                writer.write(
                    jsonrpc.error_line(
                        None,
                        RpcError(
                            jsonrpc.REQUEST_TOO_LARGE,
                            f"the request is larger than the limit of {self.max_request_bytes} bytes",
                            "send a smaller request, or raise socket.max_request_bytes",
                        ),
                    )
                )
                await writer.drain()
                return
            if not line.strip():
                continue
            await self._answer(writer, peer, line)

    async def _answer(self, writer: asyncio.StreamWriter, peer: Peer, line: bytes) -> None:
        writer.write(await self.handle_line(line, peer))
        await writer.drain()

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
