"""Pipelined chain sync over one Ogmios connection.

Why pipelining: one `nextBlock` round trip per block caps sync at 1/RTT blocks per second. Ogmios lets a
client keep many requests in flight and answers them strictly in order, so we keep `in_flight` (default
100, like the official TypeScript client) outstanding and top the pipeline up by one for every answer taken.

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
from milestoned.ogmios.errors import OgmiosConnectionError
from milestoned.ogmios.frames import next_block_from_envelope, typed
from milestoned.ogmios.model import Intersection, NextBlock, PointOrOrigin, point_to_json
from milestoned.ogmios.parsing import parse_intersection

DEFAULT_IN_FLIGHT: Final = 100


class ChainSync:
    """The chain-sync cursor of one connection: `find_intersection`, then `next_block()` or `async for`."""

    def __init__(self, connection: OgmiosConnection, in_flight: int = DEFAULT_IN_FLIGHT) -> None:
        if in_flight < 1:
            raise ValueError(f"in_flight must be at least 1 (1 = no pipelining), got {in_flight}")
        self.connection = connection
        self.in_flight = in_flight
        self._outstanding: deque[asyncio.Future[NextBlock]] = deque()

    @property
    def outstanding(self) -> int:
        """`nextBlock` requests sent whose answers have not been taken yet."""
        return len(self._outstanding)

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
        outstanding = self._outstanding
        send = self.connection.send
        while len(outstanding) < self.in_flight:
            try:
                outstanding.append(await send("nextBlock", None, next_block_from_envelope))
            except OgmiosConnectionError:
                if not outstanding:
                    raise
                break  # hand out what already arrived; the dead connection shows up after it
        return await outstanding.popleft()

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for every outstanding `nextBlock` answer and discard it. Returns how many were discarded.

        Errors of discarded requests (including a closed connection) are discarded too: the caller's next
        request will see the connection state for itself.
        """
        discarded = 0

        async def wait_all() -> None:
            nonlocal discarded
            while self._outstanding:
                future = self._outstanding[0]
                try:
                    await asyncio.shield(future)
                except asyncio.CancelledError:
                    if not future.cancelled():
                        raise  # we were cancelled (timeout), not the request
                except Exception:
                    pass
                self._outstanding.popleft()
                discarded += 1

        if timeout is None:
            await wait_all()
        else:
            await asyncio.wait_for(wait_all(), timeout)
        return discarded

    async def __aiter__(self) -> AsyncIterator[NextBlock]:
        """Follow the chain forever (until the connection fails, which raises OgmiosConnectionError)."""
        while True:
            yield await self.next_block()
