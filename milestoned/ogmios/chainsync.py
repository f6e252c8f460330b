"""Pipelined chain sync over one Ogmios connection.

Why pipelining: one `nextBlock` round trip per block caps sync at 1/RTT blocks per second. Ogmios lets a
client keep many requests in flight and answers them strictly in order, so we keep `in_flight` (default
100, like the official TypeScript client) outstanding and top the pipeline up by one for every answer taken.

Why batching the top-ups: writing each request on its own costs a system call and a wake-up of the server
per block, as much as receiving the block. Top-ups are queued into the WebSocket at once (so they count as
outstanding) but written only when `refill_batch` of them have gathered, or before we would wait with no
request on the wire, so the pipeline never runs dry: while we wait, at least `in_flight - refill_batch`
requests are with the server (at the chain tip too, where each new block answers one of them).

Why no future per request: answers are handed over raw, in order, by the connection (`AnswerStream`) and
decoded when taken (`frames.next_block_from_frame`): most blocks are then never parsed in full.

Why draining: `findIntersection` sent while `nextBlock` requests are outstanding is refused with error 1001
(IntersectionInterleaved). So before every `find_intersection` the pipeline is drained: we wait for every
outstanding answer and throw it away (those blocks belong to the old cursor position). Note that at the
chain tip outstanding requests are only answered when new blocks arrive; `drain(timeout=…)` bounds the
wait, and a caller that cannot wait should open a fresh connection instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Final

from milestoned.ogmios.connection import OgmiosConnection
from milestoned.ogmios.errors import OgmiosConnectionError, OgmiosError, OgmiosProtocolError
from milestoned.ogmios.frames import Envelope, next_block_from_frame, next_block_from_opened, typed
from milestoned.ogmios.model import Intersection, NextBlock, PointOrOrigin, point_to_json
from milestoned.ogmios.parsing import parse_intersection

DEFAULT_IN_FLIGHT: Final = 100

Answer = bytes | Envelope | OgmiosError | OgmiosProtocolError


def default_refill_batch(in_flight: int) -> int:
    """A quarter of the pipeline: it stays between 3/4 full and full while blocks stream in."""
    return max(1, in_flight // 4)


class ChainSync:
    """The chain-sync cursor of one connection: `find_intersection`, then `next_block()` or `async for`.

    One consumer at a time: `next_block()` must not be awaited concurrently with itself or `drain()`.
    """

    def __init__(
        self,
        connection: OgmiosConnection,
        in_flight: int = DEFAULT_IN_FLIGHT,
        refill_batch: int | None = None,
    ) -> None:
        if in_flight < 1:
            raise ValueError(f"in_flight must be at least 1 (1 = no pipelining), got {in_flight}")
        batch = default_refill_batch(in_flight) if refill_batch is None else refill_batch
        if not 1 <= batch <= in_flight:
            raise ValueError(f"refill_batch must be between 1 and in_flight ({in_flight}), got {batch}")
        self.connection = connection
        self.in_flight = in_flight
        self.refill_batch = batch
        self.expected: deque[int] = deque()
        """Ids of `nextBlock` requests sent (or queued) and not answered yet (see `AnswerStream`)."""
        self._ready: deque[Answer] = deque()
        self._unflushed = 0
        self._closed: OgmiosConnectionError | None = None
        self._waiter: asyncio.Future[None] | None = None
        connection.attach(self)

    @property
    def outstanding(self) -> int:
        """`nextBlock` requests sent whose answers have not been taken yet."""
        return len(self.expected) + len(self._ready)

    # --- AnswerStream (called by the connection's reader) -------------------------------------------------

    def deliver(self, answer: Answer) -> None:
        self._ready.append(answer)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: OgmiosConnectionError) -> None:
        self._closed = error
        self.expected.clear()
        self._unflushed = 0
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- the cursor --------------------------------------------------------------------------------------

    async def find_intersection(self, points: Iterable[PointOrOrigin]) -> Intersection:
        """Move the cursor to the first of `points` (best first) that is on the node's chain.

        Drains the pipeline first. Raises `IntersectionNotFound` (1000, with `.tip`) if none is.
        The next `next_block()` is then a RollBackward to the intersection.
        """
        wire = [point_to_json(point) for point in points]
        if not wire:
            raise ValueError(
                'find_intersection needs at least one point (use "origin" to start from genesis)'
            )
        await self.drain()
        return await self.connection.request("findIntersection", {"points": wire}, typed(parse_intersection))

    async def next_block(self) -> NextBlock:
        """The next RollForward/RollBackward, in chain order, keeping the pipeline full."""
        ready = self._ready
        missing = self.in_flight - len(self.expected) - len(ready)
        if missing > 0 and self._closed is None:
            try:
                self.connection.queue_stream_requests("nextBlock", missing)
                self._unflushed += missing
            except OgmiosConnectionError:
                if not ready and not self.expected:
                    raise
                # hand out what already arrived; the dead connection shows up after it
        unflushed = self._unflushed
        if unflushed and (unflushed >= self.refill_batch or (not ready and len(self.expected) == unflushed)):
            self._flush()
        while not ready:
            if self._closed is not None and not self.expected:
                raise self._closed
            await self._wait()
        answer = ready.popleft()
        if isinstance(answer, bytes):
            return next_block_from_frame(answer)
        if isinstance(answer, Envelope):
            return next_block_from_opened(answer)
        raise answer

    def _flush(self) -> None:
        self._unflushed = 0
        if self._closed is None:
            self.connection.flush()

    async def _wait(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            raise RuntimeError("ChainSync.next_block/drain awaited concurrently; use one consumer")
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for every outstanding `nextBlock` answer and discard it. Returns how many were discarded.

        Errors of discarded requests (including a closed connection) are discarded too: the caller's next
        request will see the connection state for itself.
        """
        if self._unflushed:
            self._flush()

        async def wait_all() -> None:
            while self.expected and self._closed is None:
                await self._wait()

        if timeout is None:
            await wait_all()
        else:
            await asyncio.wait_for(wait_all(), timeout)
        discarded = len(self._ready) + len(self.expected)
        self._ready.clear()
        self.expected.clear()
        return discarded

    async def __aiter__(self) -> AsyncIterator[NextBlock]:
        """Follow the chain forever (until the connection fails, which raises OgmiosConnectionError)."""
        while True:
            yield await self.next_block()
