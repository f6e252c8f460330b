"""JSON-RPC over HTTP POST on the WebSocket port, as Ogmios serves it (issue 14, point 8).

WHY at the connection level: Ogmios answers a JSON-RPC request POSTed to its port (in a session of its
own: 200, or 400 when the answer is an error), and some clients use only that. The websockets library
rejects anything but a GET upgrade before its `process_request` hook runs, so the first bytes of each
connection are looked at here: a POST is answered, then the connection closed, without reaching
websockets; anything else goes on as a WebSocket connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection

Answer = Callable[[ServerConnection, bytes], Awaitable[tuple[int, bytes]]]
"""The body of a POST -> (HTTP status, JSON-RPC answer)."""


def _error(code: int, message: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": None}).encode()


MAX_HTTP_REQUEST = 16 * 1024 * 1024
HTTP_REASONS = {200: "OK", 400: "Bad Request", 413: "Payload Too Large", 500: "Internal Server Error"}


def http_aware(answer: Answer) -> type[ServerConnection]:
    """A WebSocket connection class that also answers JSON-RPC sent by plain HTTP POST."""

    class HttpAwareConnection(ServerConnection):
        _http: bytearray | None = None
        _sniffed = False
        _answering = False

        def data_received(self, data: bytes) -> None:
            if self._http is None and not self._sniffed:
                self._sniffed = True
                if data[:5] == b"POST ":
                    self._http = bytearray()
            if self._http is None:
                super().data_received(data)
                return
            self._http += data
            self._answer_when_complete()

        def _answer_when_complete(self) -> None:
            assert self._http is not None
            head_end = self._http.find(b"\r\n\r\n")
            if self._answering or head_end < 0:
                if head_end < 0 and len(self._http) > 64 * 1024:
                    self._reply(413, _error(-32600, "The request headers are too large."))
                return
            length = 0
            for line in bytes(self._http[:head_end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    try:
                        length = int(value.strip() or 0)
                    except ValueError:
                        self._reply(400, _error(-32600, "Content-Length is not a number."))
                        return
            if length > MAX_HTTP_REQUEST:
                self._reply(413, _error(-32600, "The request is too large."))
                return
            body = bytes(self._http[head_end + 4 : head_end + 4 + length])
            if len(body) < length:
                return
            self._answering = True
            task = asyncio.ensure_future(answer(self, body))
            task.add_done_callback(self._answered)

        def _answered(self, task: asyncio.Future[tuple[int, bytes]]) -> None:
            if task.cancelled():
                self.transport.close()
                return
            error = task.exception()
            if error is not None:
                self._reply(500, _error(-32603, f"Internal error in the devnet: {error!r}"))
                return
            self._reply(*task.result())

        def _reply(self, status: int, body: bytes) -> None:
            head = (
                f"HTTP/1.1 {status} {HTTP_REASONS.get(status, 'Error')}\r\n"
                "Content-Type: application/json; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Access-Control-Allow-Origin: *\r\n"
                "Connection: close\r\n\r\n"
            )
            if not self.transport.is_closing():
                self.transport.write(head.encode() + body)
                self.transport.close()

    return HttpAwareConnection
