"""One WebSocket to Ogmios, speaking JSON-RPC 2.0 with responses matched to requests by `id`.

Why by id: Ogmios answers in request order *within* one mini-protocol, but chain sync, ledger queries,
mempool and submission are served by separate workers, so answers across them interleave. Matching on the
echoed `method` (as the PyPI `ogmios` package does) breaks as soon as two protocols share a socket, and
`--strict-rpc` servers do not even send `method`.

Every request gets a fresh integer id. Each message is dispatched as websockets parses it (see "Why no
reader task" below) and resolves the waiting future; an answer whose id nobody waits for is logged and
dropped. When the socket closes, every waiting request fails with `OgmiosConnectionError`, so no caller
hangs on a dead connection.

Chain sync is the exception to "one future per request": at thousands of blocks per second a future, a
dict entry and a full parse per answer cost more than receiving the frame. Its answers come back in
request order (Ogmios guarantees that within one mini-protocol), so an attached `AnswerStream` gets them
in order, raw: the dispatcher reads the id off the frame's end (`frames.response_id`, parsing in full
only if the frame does not end the usual way) and hands the bytes over; the stream decodes them when
they are taken. Its requests are queued without a write each (`queue_stream_requests`) and written together
(`flush`), so the server gets one packet for a batch of them.

Why no reader task: websockets' `recv()` hands each message over through its assembler to an awaiting
task, which for chain sync then hands it to the stream's consumer: two hand-overs per block, each costing
a few microseconds of asyncio machinery. Messages are instead taken from the connection as websockets
parses them (`MessageHandoffConnection`, a `create_connection` subclass of its client connection) and
dispatched on the spot; a small task only waits for the connection to close.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State

from milestoned.ogmios.errors import OgmiosConnectionError, OgmiosError, OgmiosProtocolError, error_from_json
from milestoned.ogmios.frames import Envelope, open_envelope, plain_result, response_id

T = TypeVar("T")

log = logging.getLogger(__name__)

DEFAULT_MAX_FRAME_BYTES: Final = 256 * 1024 * 1024
"""Blocks are at most a few MB of JSON, but a UTxO query by address can return far more; stay generous."""

DEFAULT_CLOSE_TIMEOUT: Final = 2.0
"""How long a clean close waits for the server's half of the close handshake before dropping the socket.
websockets' default (10 s) would add that much to every reconnect over a stalled link."""

_request_ids = itertools.count(1)
"""Process-wide, so ids stay unique across reconnects too (handy when reading logs)."""


class AnswerStream(Protocol):
    """Receives the answers to one mini-protocol's requests, in request order (see the module docstring)."""

    expected: deque[int]
    """Ids of the stream's requests sent and not answered yet, oldest first (the connection pops them)."""

    def deliver(self, answer: bytes | Envelope | OgmiosError | OgmiosProtocolError) -> None:
        """The answer to `expected[0]` (just popped): a raw frame, an opened one, or what went wrong."""

    def fail(self, error: OgmiosConnectionError) -> None:
        """The connection is gone; nothing more will be delivered."""


@dataclass(slots=True)
class _Pending(Generic[T]):
    future: asyncio.Future[T]
    decode: Callable[[Envelope], T]
    method: str


class MessageHandoffConnection(ClientConnection, asyncio.BufferedProtocol):
    """websockets' client connection that hands every data message to `on_message` as soon as it is parsed.

    Control frames (ping, pong, close) and the handshake take websockets' own path. Fragmented messages
    are joined here. `on_message` must not raise and must be set before the first request is sent: until
    it is, messages go to websockets' `recv()` as usual.

    It also reads the socket into one buffer of its own (asyncio's `BufferedProtocol`): by default asyncio
    allocates a new 256 KB bytes object for every read, which websockets copies into its stream buffer
    at once and drops. Reusing one buffer keeps that memory warm in the cache (`bench/ogmios.py`: our
    chain sync went from about 0.56 to 0.60 of the floor).
    """

    on_message: Callable[[bytes], None] | None = None
    _fragments: list[bytes] | None = None
    _read_buffer: memoryview | None = None

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._read_buffer is None:
            self._read_buffer = memoryview(bytearray(READ_BUFFER_BYTES))
        return self._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        assert self._read_buffer is not None
        # websockets copies what it is given into its own stream buffer at once, so the view may be reused
        self.data_received(self._read_buffer[:nbytes])  # type: ignore[arg-type]

    def process_event(self, event: Event) -> None:
        handler = self.on_message
        if handler is None or not isinstance(event, Frame) or event.opcode not in _DATA:
            super().process_event(event)
            return
        data = event.data if type(event.data) is bytes else bytes(event.data)
        if event.opcode is not Opcode.CONT:
            if event.fin:
                handler(data)
            else:
                self._fragments = [data]
            return
        if self._fragments is None:  # websockets' parser refuses a stray continuation: cannot happen
            return
        self._fragments.append(data)
        if event.fin:
            message, self._fragments = b"".join(self._fragments), None
            handler(message)


_DATA: Final = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})
READ_BUFFER_BYTES: Final = 256 * 1024
"""As much as asyncio reads at once by default."""


class OgmiosConnection:
    """A connected Ogmios JSON-RPC session. Create with `await OgmiosConnection.open(url)`."""

    def __init__(self, websocket: MessageHandoffConnection, url: str) -> None:
        self.url = url
        self._ws = websocket
        self._pending: dict[int, _Pending[Any]] = {}
        self._stream: AnswerStream | None = None
        self._closed_error: OgmiosConnectionError | None = None
        self._server_error: OgmiosError | None = None
        self._failure: OgmiosConnectionError | None = None
        self._queued: list[bytes] = []
        """Stream requests counted as sent but not yet handed to websockets (see `flush`)."""
        self.dropped_responses = 0
        """How many answers arrived that no request was waiting for (logged, then dropped)."""
        websocket.on_message = self._on_message
        self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"ogmios-closing {url}")

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        max_frame_bytes: int | None = DEFAULT_MAX_FRAME_BYTES,
        open_timeout: float | None = 10.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        compression: str | None = None,
        headers: dict[str, str] | None = None,
        close_timeout: float | None = DEFAULT_CLOSE_TIMEOUT,
    ) -> OgmiosConnection:
        """Connect to Ogmios at `url` (e.g. `ws://127.0.0.1:1337`).

        `compression` is off by default: Ogmios usually runs next to the daemon and deflate costs CPU on
        every 100 KB block; pass "deflate" for a remote Ogmios on a slow link.
        """
        try:
            websocket = await connect(
                url,
                max_size=max_frame_bytes,
                open_timeout=open_timeout,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                compression=compression,
                additional_headers=headers,
                proxy=None,
                close_timeout=close_timeout,
                create_connection=MessageHandoffConnection,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise OgmiosConnectionError(
                f"cannot connect to Ogmios at {url}: {exc or type(exc).__name__}. "
                "Check that Ogmios is running and that the URL (ws://host:port, default port 1337) is right."
            ) from exc
        assert isinstance(websocket, MessageHandoffConnection)
        return cls(websocket, url)

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        stream = self._stream
        return len(self._pending) + (0 if stream is None else len(stream.expected))

    @property
    def awaited(self) -> int:
        """Requests sent, not answered yet, and still awaited: not those whose caller gave up (a timeout
        cancels the caller's future; the entry stays until the answer comes, to be dropped then)."""
        return sum(1 for entry in self._pending.values() if not entry.future.done())

    def attach(self, stream: AnswerStream) -> None:
        """Route answers to `stream`'s requests to it (one stream per connection: chain sync)."""
        if self._stream is not None and self._stream is not stream:
            raise RuntimeError("this connection already has an answer stream (its chain sync)")
        self._stream = stream

    def queue_stream_requests(self, method: str, count: int) -> None:
        """Queue `count` requests `method` (no params) for the attached stream; `flush` writes them.

        Why not `send`: one write (a system call, and a wake-up of the server) per request costs as much as
        receiving a block. Queued requests are counted in `stream.expected` at once, but are handed to
        websockets only by `flush`: websockets writes whatever it holds after every read, which would
        undo the batching.
        """
        stream = self._stream
        if stream is None:
            raise RuntimeError("queue_stream_requests needs an attached answer stream (see attach)")
        if self._closed_error is not None:
            raise OgmiosConnectionError(f"cannot send {method}: {self._closed_error}")
        if self._ws.protocol.state is not State.OPEN:
            raise OgmiosConnectionError(f"cannot send {method}: the connection to {self.url} is closing")
        template = b'{"jsonrpc":"2.0","method":%s,"id":%d}'
        name = orjson.dumps(method)
        expected, queued = stream.expected, self._queued
        for _ in range(count):
            request_id = next(_request_ids)
            queued.append(template % (name, request_id))
            expected.append(request_id)

    def flush(self) -> None:
        """Write the queued requests (and anything else websockets holds), in one write."""
        protocol = self._ws.protocol
        queued, self._queued = self._queued, []
        if queued and protocol.state is State.OPEN:
            for message in queued:
                protocol.send_text(message)
        chunks = protocol.data_to_send()
        if not chunks:
            return
        transport = self._ws.transport
        if all(chunks):
            transport.write(b"".join(chunks))
            return
        # An empty chunk asks for the end of the stream (only while closing): do what websockets would.
        for chunk in chunks:
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        decode: Callable[[Envelope], T] = plain_result,
    ) -> asyncio.Future[T]:
        """Send one request without waiting for the answer; await the returned future for the typed result.

        This is what pipelining is built on. The future fails with the matching `OgmiosError` subclass on an
        error answer, or with `OgmiosConnectionError` if the socket closes first.
        """
        if self._closed_error is not None:
            raise OgmiosConnectionError(f"cannot send {method}: {self._closed_error}")
        request_id = next(_request_ids)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(future, decode, method)
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        try:
            await self._ws.send(orjson.dumps(message), text=True)
        except ConnectionClosed as exc:
            self._pending.pop(request_id, None)
            raise OgmiosConnectionError(
                f"cannot send {method}: the connection to {self.url} closed ({exc})"
            ) from exc
        return future

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        decode: Callable[[Envelope], T] = plain_result,
    ) -> T:
        """Send one request and wait for its typed result."""
        future = await self.send(method, params, decode)
        return await future

    async def close(self) -> None:
        """Close the socket cleanly (close handshake, waiting at most the connection's `close_timeout`),
        fail whatever is still waiting, stop the reader."""
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def abort(self) -> None:
        """Drop the socket at once, without a close handshake: for a link already known to be dead or
        stalled, where the handshake could only time out. Fails whatever is still waiting, stops the
        reader."""
        self._ws.transport.abort()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def wait_closed(self) -> OgmiosConnectionError:
        """Wait until the connection is gone (by either side) and say why."""
        await asyncio.shield(self._reader)
        assert self._closed_error is not None
        return self._closed_error

    async def __aenter__(self) -> OgmiosConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _on_message(self, frame: bytes) -> None:
        """Called by the websocket for each message as it is parsed (see `MessageHandoffConnection`)."""
        try:
            self._dispatch(frame)
        except Exception as exc:  # a bug here must close the connection, never kill websockets' protocol
            log.exception("dispatching an Ogmios answer failed; closing the connection")
            self._failure = OgmiosConnectionError(f"the connection to Ogmios at {self.url} failed: {exc!r}")
            self._ws.transport.abort()

    async def _read(self) -> None:
        """Wait for the connection to close, then fail whatever still waits on it."""
        reason: OgmiosConnectionError | None = None
        try:
            await self._ws.wait_closed()
            closed = self._ws.protocol.close_exc
            detail = f"; the server said: {self._server_error}" if self._server_error else ""
            reason = self._failure or OgmiosConnectionError(
                f"the connection to Ogmios at {self.url} closed ({closed}){detail}"
            )
        finally:
            if reason is None:  # cancelled
                reason = OgmiosConnectionError(f"the connection to Ogmios at {self.url} was shut down")
            self._closed_error = reason
            if self._stream is not None:
                self._stream.fail(reason)
            pending, self._pending = self._pending, {}
            for entry in pending.values():
                if not entry.future.done():
                    entry.future.set_exception(reason)
                    # Mark it retrieved: a pipelined request may have nobody awaiting it when the socket dies.
                    entry.future.exception()

    def _dispatch(self, frame: bytes) -> None:
        stream = self._stream
        if stream is not None and stream.expected and response_id(frame) == stream.expected[0]:
            stream.expected.popleft()
            stream.deliver(frame)  # decoded when taken: most chain-sync frames are never parsed in full
            return
        try:
            envelope = open_envelope(frame)
        except OgmiosProtocolError as exc:
            self.dropped_responses += 1
            log.warning("dropping a frame from Ogmios that is not a JSON-RPC response: %s", exc)
            return
        request_id = envelope.id
        numeric = isinstance(request_id, int) and not isinstance(request_id, bool)
        entry = self._pending.pop(request_id, None) if numeric else None
        if entry is None and numeric and stream is not None and request_id in stream.expected:
            self._deliver_opened(stream, envelope)
            return
        if entry is None:
            self.dropped_responses += 1
            if envelope.error is not None:
                # e.g. -32000 "connection with the node lost", sent with id null before the server closes.
                self._server_error = error_from_json(envelope.error, envelope.method)
            log.warning(
                "dropping an Ogmios response with unknown id %r (method %r, error %r)",
                request_id,
                envelope.method,
                envelope.error,
            )
            return
        if entry.future.done():  # the caller gave up (cancelled); the answer is not wanted any more
            return
        if not envelope.has_result or envelope.error is not None:
            entry.future.set_exception(error_from_json(envelope.error, entry.method))
            return
        try:
            value = entry.decode(envelope)
        except OgmiosProtocolError as exc:
            entry.future.set_exception(exc)
        except Exception as exc:  # a decoder bug must fail the one request, never the reader task
            entry.future.set_exception(
                OgmiosProtocolError(f"cannot decode the answer to {entry.method}: {exc!r}")
            )
        else:
            entry.future.set_result(value)

    @staticmethod
    def _deliver_opened(stream: AnswerStream, envelope: Envelope) -> None:
        """A stream answer whose id we only found by parsing (the frame did not end the usual way)."""
        expected = stream.expected
        if expected[0] == envelope.id:
            expected.popleft()
            stream.deliver(envelope)
            return
        expected.remove(envelope.id)
        stream.deliver(
            OgmiosProtocolError(
                f"Ogmios answered request {envelope.id!r} before request {expected[0]!r} of the same "
                "protocol; answers within one protocol must come back in request order"
            )
        )
