"""One WebSocket to Ogmios, speaking JSON-RPC 2.0 with responses matched to requests by `id`.

Why by id: Ogmios answers in request order *within* one mini-protocol, but chain sync, ledger queries,
mempool and submission are served by separate workers, so answers across them interleave. Matching on the
echoed `method` (as the PyPI `ogmios` package does) breaks as soon as two protocols share a socket, and
`--strict-rpc` servers do not even send `method`.

Every request gets a fresh integer id. A single reader task receives frames and resolves the waiting
futures; an answer whose id nobody waits for is logged and dropped. When the socket closes, every waiting
request fails with `OgmiosConnectionError`, so no caller hangs on a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from milestoned.ogmios.errors import OgmiosConnectionError, OgmiosError, OgmiosProtocolError, error_from_json
from milestoned.ogmios.frames import Envelope, open_envelope, plain_result

T = TypeVar("T")

log = logging.getLogger(__name__)

DEFAULT_MAX_FRAME_BYTES: Final = 256 * 1024 * 1024
"""Blocks are at most a few MB of JSON, but a UTxO query by address can return far more; stay generous."""

_request_ids = itertools.count(1)
"""Process-wide, so ids stay unique across reconnects too (handy when reading logs)."""


@dataclass(slots=True)
class _Pending(Generic[T]):
    future: asyncio.Future[T]
    decode: Callable[[Envelope], T]
    method: str


class OgmiosConnection:
    """A connected Ogmios JSON-RPC session. Create with `await OgmiosConnection.open(url)`."""

    def __init__(self, websocket: ClientConnection, url: str) -> None:
        self.url = url
        self._ws = websocket
        self._pending: dict[int, _Pending[Any]] = {}
        self._closed_error: OgmiosConnectionError | None = None
        self._server_error: OgmiosError | None = None
        self.dropped_responses = 0
        """How many answers arrived that no request was waiting for (logged, then dropped)."""
        self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"ogmios-reader {url}")

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
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise OgmiosConnectionError(
                f"cannot connect to Ogmios at {url}: {exc or type(exc).__name__}. "
                "Check that Ogmios is running and that the URL (ws://host:port, default port 1337) is right."
            ) from exc
        return cls(websocket, url)

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._pending)

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
        """Close the socket cleanly (close handshake), fail whatever is still waiting, stop the reader."""
        await self._ws.close()
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

    async def _read(self) -> None:
        reason: OgmiosConnectionError | None = None
        try:
            while True:
                frame = await self._ws.recv(decode=False)
                self._dispatch(frame if isinstance(frame, bytes) else frame.encode())
        except ConnectionClosed as exc:
            detail = f"; the server said: {self._server_error}" if self._server_error else ""
            reason = OgmiosConnectionError(f"the connection to Ogmios at {self.url} closed ({exc}){detail}")
        except Exception as exc:
            log.exception("the Ogmios reader failed; closing the connection")
            reason = OgmiosConnectionError(f"the connection to Ogmios at {self.url} failed: {exc!r}")
            await self._ws.close()
        finally:
            if reason is None:  # cancelled
                reason = OgmiosConnectionError(f"the connection to Ogmios at {self.url} was shut down")
            self._closed_error = reason
            pending, self._pending = self._pending, {}
            for entry in pending.values():
                if not entry.future.done():
                    entry.future.set_exception(reason)
                    # Mark it retrieved: a pipelined request may have nobody awaiting it when the socket dies.
                    entry.future.exception()

    def _dispatch(self, frame: bytes) -> None:
        try:
            envelope = open_envelope(frame)
        except OgmiosProtocolError as exc:
            self.dropped_responses += 1
            log.warning("dropping a frame from Ogmios that is not a JSON-RPC response: %s", exc)
            return
        request_id = envelope.id
        entry = (
            self._pending.pop(request_id, None)
            if isinstance(request_id, int) and not isinstance(request_id, bool)
            else None
        )
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
