"""Fixtures for the Ogmios client tests: where the shared vectors are, and a tiny Ogmios-speaking server.

The server is a protocol fixture, not a mock of our code: it speaks Ogmios' JSON-RPC over a real WebSocket
on 127.0.0.1, answers with the request's id, replays vector frames for queries, serves a chain of blocks to
`nextBlock` in order (holding requests at the tip, as Ogmios does), refuses `findIntersection` with 1001
while `nextBlock` requests are outstanding (as Ogmios does), and can reorder answers or drop the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT.parent / "shared" / "ogmios" / "vectors"


def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.fail(
            f"Ogmios test vectors not found at {VECTORS}. They live in shared/ogmios/vectors beside the repo "
            "(the CI machine lays shared/ next to the clone); put a copy there to run these tests.",
            pytrace=False,
        )
    return VECTORS


def load_vector(relative: str) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads((vectors_dir() / relative).read_bytes())
    return message


@dataclass
class _Session:
    cursor: int = 0
    rollback_to: Any = "origin"
    waiting: list[Any] = field(default_factory=list)


class FakeOgmios:
    """An Ogmios-speaking replay server. `chain` is a list of RollForward results (oldest first)."""

    def __init__(self, chain: list[dict[str, Any]] | None = None) -> None:
        self.chain = chain or []
        self._available: int | None = None
        self.canned: dict[str, dict[str, Any]] = {}
        """method → {"result": …} or {"error": …} (e.g. a vector message)."""
        self.received: list[dict[str, Any]] = []
        self.outstanding = 0
        self.max_outstanding = 0
        self.outstanding_at_find: list[int] = []
        self.reverse_batch = 0
        """When > 0, query answers are held until that many are buffered, then sent in reverse order."""
        self._buffer: list[bytes] = []
        self.stray_before_answer = False
        self.drop_after_blocks: int | None = None
        """Close the connection (abruptly) after sending this many blocks on it."""
        self.connections = 0
        self.close_codes: list[int | None] = []
        """How each connection ended, as the server saw it (1000: close handshake, 1006: dropped)."""
        self.frame_style = "ogmios"
        """How answers are written: "ogmios" (Ogmios' own key order, compact), "reordered" (every object's
        keys reversed) or "indented" (pretty-printed). JSON-wise the same answers."""
        self.fragment_bytes: int | None = None
        """When set, every answer is sent as a fragmented WebSocket message of pieces this large."""
        self._sockets: list[tuple[ServerConnection, _Session]] = []
        self._server: Server | None = None
        self.url = ""

    async def __aenter__(self) -> FakeOgmios:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None, compression=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def available(self) -> int:
        """Blocks the server may hand out (default: the whole chain); raise it and `pump` for new blocks."""
        return len(self.chain) if self._available is None else min(self._available, len(self.chain))

    @available.setter
    def available(self, count: int) -> None:
        self._available = count

    def answer(self, method: str, message: dict[str, Any]) -> None:
        """Answer `method` with the result or error of `message` (a vector file's content)."""
        self.canned[method] = {k: message[k] for k in ("result", "error") if k in message}

    async def pump(self) -> None:
        for websocket, session in list(self._sockets):
            await self._serve_waiting(websocket, session)

    async def _send(self, websocket: ServerConnection, method: str, body: dict[str, Any], rid: Any) -> None:
        frame = self.encode({"jsonrpc": "2.0", "method": method, **body, "id": rid})
        size = self.fragment_bytes
        if size is None:
            await websocket.send(frame, text=True)
        else:
            await websocket.send([frame[i : i + size] for i in range(0, len(frame), size)], text=True)

    def encode(self, message: dict[str, Any]) -> bytes:
        if self.frame_style == "reordered":
            return orjson.dumps(_reversed_keys(message))
        if self.frame_style == "indented":
            return orjson.dumps(message, option=orjson.OPT_INDENT_2) + b"\n"
        return orjson.dumps(message)

    async def _handle(self, websocket: ServerConnection) -> None:
        self.connections += 1
        session = _Session()
        self._sockets.append((websocket, session))
        sent_blocks = 0
        try:
            async for raw in websocket:
                request = orjson.loads(raw)
                self.received.append(request)
                method, rid = request["method"], request.get("id")
                if method == "nextBlock":
                    self.outstanding += 1
                    self.max_outstanding = max(self.max_outstanding, self.outstanding)
                    session.waiting.append(rid)
                    sent_blocks += await self._serve_waiting(websocket, session)
                    if self.drop_after_blocks is not None and sent_blocks >= self.drop_after_blocks:
                        self.drop_after_blocks = None
                        self.outstanding -= len(session.waiting)
                        session.waiting.clear()
                        websocket.transport.abort()
                        return
                elif method == "findIntersection":
                    await self._find_intersection(websocket, session, request, rid)
                else:
                    await self._canned(websocket, method, rid)
        finally:
            self.outstanding -= len(session.waiting)
            self._sockets.remove((websocket, session))
            await websocket.wait_closed()
            self.close_codes.append(websocket.close_code)

    async def _serve_waiting(self, websocket: ServerConnection, session: _Session) -> int:
        sent = 0
        while session.waiting and (session.rollback_to is not None or session.cursor < self.available):
            rid = session.waiting.pop(0)
            if session.rollback_to is not None:
                tip = self.chain[self.available - 1]["tip"] if self.available else "origin"
                result: dict[str, Any] = {"direction": "backward", "point": session.rollback_to, "tip": tip}
                session.rollback_to = None
            else:
                result = self.chain[session.cursor]
                session.cursor += 1
                sent += 1
            self.outstanding -= 1
            await self._send(websocket, "nextBlock", {"result": result}, rid)
        return sent

    async def _find_intersection(
        self, websocket: ServerConnection, session: _Session, request: dict[str, Any], rid: Any
    ) -> None:
        outstanding_here = len(session.waiting)
        self.outstanding_at_find.append(outstanding_here)
        tip = self.chain[self.available - 1]["tip"] if self.available else "origin"
        if outstanding_here:
            error = {
                "code": 1001,
                "message": "Cannot interleave 'findIntersection' requests with 'nextBlock'.",
            }
            await self._send(websocket, "findIntersection", {"error": error}, rid)
            return
        for point in request["params"]["points"]:
            if point == "origin":
                session.cursor, session.rollback_to = 0, "origin"
                break
            index = next(
                (i for i, r in enumerate(self.chain[: self.available]) if r["block"]["id"] == point["id"]),
                None,
            )
            if index is not None:
                session.cursor, session.rollback_to = index + 1, point
                break
        else:
            error = {"code": 1000, "message": "No intersection found.", "data": {"tip": tip}}
            await self._send(websocket, "findIntersection", {"error": error}, rid)
            return
        result = {"intersection": session.rollback_to, "tip": tip}
        await self._send(websocket, "findIntersection", {"result": result}, rid)

    async def _canned(self, websocket: ServerConnection, method: str, rid: Any) -> None:
        body = self.canned.get(method) or {
            "error": {"code": -32601, "message": f"Unknown method {method} in the test server."}
        }
        if self.stray_before_answer:
            await self._send(websocket, method, body, 987654321)
        frame = self.encode({"jsonrpc": "2.0", "method": method, **body, "id": rid})
        if self.reverse_batch:
            self._buffer.append(frame)
            if len(self._buffer) >= self.reverse_batch:
                frames, self._buffer = self._buffer[::-1], []
                for held in frames:
                    await websocket.send(held, text=True)
            return
        await websocket.send(frame, text=True)


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


@pytest.fixture
async def fake_ogmios() -> AsyncIterator[FakeOgmios]:
    async with FakeOgmios() as server:
        yield server


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    """Poll `condition()` until it is true (event-driven code under test has no other hook)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Any:
    return wait_until


@pytest.fixture(name="load_vector")
def load_vector_fixture() -> Any:
    return load_vector


@pytest.fixture(name="small_chain")
def small_chain_fixture() -> list[dict[str, Any]]:
    """30 small synthetic blocks (1–3 transactions each), linked by ancestor."""
    from milestoned.ogmios.synthetic import SyntheticChainShape, synthetic_roll_forward_results

    shape = SyntheticChainShape(min_transactions=1, max_transactions=3, target_bytes=3_000)
    return synthetic_roll_forward_results(30, seed=7, shape=shape)
