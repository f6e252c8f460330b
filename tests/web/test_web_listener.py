"""The web view over a real TCP socket: slow and hostile clients cost a connection, never the others."""

from __future__ import annotations

import asyncio
import time

from web_fixtures import SCHEDULE_ID, snapshot

from milestoned.daemon.http_endpoint import HttpListener
from milestoned.domain.network import CardanoNetwork
from milestoned.web.routes import WebRoutes


async def _listener(read_timeout: float = 0.5) -> HttpListener:
    shot = snapshot()
    routes = WebRoutes(lambda: shot, CardanoNetwork.DEVNET)
    listener = HttpListener("127.0.0.1", 0, routes.handle, name="web", read_timeout=read_timeout)
    await listener.start()
    return listener


async def _request(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_a_stalled_client_times_out_while_others_are_served() -> None:
    listener = await _listener(read_timeout=0.5)
    try:
        stalled_reader, stalled_writer = await asyncio.open_connection("127.0.0.1", listener.bound_port)
        stalled_writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
        await stalled_writer.drain()
        started = time.monotonic()
        answer = await _request(
            listener.bound_port, f"GET /schedules/{SCHEDULE_ID} HTTP/1.1\r\n\r\n".encode()
        )
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert time.monotonic() - started < 0.5  # not queued behind the stalled one
        late = await asyncio.wait_for(stalled_reader.read(), 5)
        assert late.startswith(b"HTTP/1.1 408")
        stalled_writer.close()
    finally:
        await listener.stop()


async def test_oversized_heads_head_requests_and_methods_over_the_wire() -> None:
    listener = await _listener()
    port = listener.bound_port
    try:
        huge = b"GET /?" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n"
        assert (await _request(port, huge)).startswith(b"HTTP/1.1 431")
        head = await _request(port, b"HEAD / HTTP/1.1\r\n\r\n")
        status, _, body = head.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 200") and body == b""
        assert b"Content-Length: " in status and b"Content-Length: 0" not in status
        put = await _request(port, b"PUT /schedules HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        assert put.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD" in put
        garbage = await _request(port, b"\x00\xff\xfe nonsense\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 405")
        many = await asyncio.gather(*(_request(port, b"GET /activity HTTP/1.1\r\n\r\n") for _ in range(30)))
        assert all(a.startswith(b"HTTP/1.1 200") for a in many)
    finally:
        await listener.stop()
