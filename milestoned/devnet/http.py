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

GetAnswer = Callable[[str, str], tuple[int, str, bytes]]
"""(request target, Accept header) of a GET -> (HTTP status, content type, body)."""


def _error(code: int, message: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": None}).encode()


MAX_HTTP_REQUEST = 16 * 1024 * 1024
HTTP_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
}
JSON_TYPE = "application/json; charset=utf-8"


def http_aware(
    answer: Answer, get: GetAnswer | None = None, get_prefix: str = "/kupo"
) -> type[ServerConnection]:
    """A WebSocket connection class that also answers JSON-RPC sent by plain HTTP POST, and (with
    `get`) plain GETs whose path starts with `get_prefix`."""
    get_start = f"GET {get_prefix}".encode()

    class HttpAwareConnection(ServerConnection):
        _http: bytearray | None = None
        _sniffed = False
        _answering = False
        _get = False

        def data_received(self, data: bytes) -> None:
            if self._http is None and not self._sniffed:
                self._sniffed = True
                if data[:5] == b"POST ":
                    self._http = bytearray()
                elif (
                    get is not None
                    and data.startswith(get_start)
                    and data[len(get_start) : len(get_start) + 1] in (b"/", b"?", b" ")
                ):
                    self._http = bytearray()
                    self._get = True
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
            if self._get:
                self._answer_get(bytes(self._http[:head_end]))
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

        def _answer_get(self, head: bytes) -> None:
            assert get is not None
            self._answering = True
            lines = head.decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
            accept = ""
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "accept":
                    accept = value.strip()
            try:
                status, content_type, body = get(target, accept)
            except Exception as exc:  # a bug must cost one answer, never the server
                self._reply(500, _error(-32603, f"Internal error in the devnet: {exc!r}"))
                return
            self._reply(status, body, content_type)

        def _answered(self, task: asyncio.Future[tuple[int, bytes]]) -> None:
            if task.cancelled():
                self.transport.close()
                return
            error = task.exception()
            if error is not None:
                self._reply(500, _error(-32603, f"Internal error in the devnet: {error!r}"))
                return
            self._reply(*task.result())

        def _reply(self, status: int, body: bytes, content_type: str = JSON_TYPE) -> None:
            head = (
                f"HTTP/1.1 {status} {HTTP_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Access-Control-Allow-Origin: *\r\n"
                "Connection: close\r\n\r\n"
            )
            if not self.transport.is_closing():
                self.transport.write(head.encode() + body)
                self.transport.close()

    return HttpAwareConnection
