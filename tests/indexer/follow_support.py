"""Running the real follower against a running devnet, and judging the log it wrote.

"Correct" is judged against the chain alone: a fresh follower on a fresh log, started from origin on the
final chain, gives the reference. The followed log must hold the same surviving facts (every
lock/release/reclaim not undone by a later rollback, in order, no duplicate, none missing) and project
into the same projections, byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from milestoned.devnet.service import Devnet
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReclaimed,
    AllocationReleased,
    Event,
    RolledBack,
)
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.filter import WatchedContract
from milestoned.indexer.follower import ChainFollower
from milestoned.ogmios.model import Point
from milestoned.projections.projector import Projector
from milestoned.projections.slots import SlotConfig
from milestoned.projections.store import ProjectionStore

Fact = tuple[str, int, str, str, str]
"""(topic, slot, header hash, tx id, out-ref)"""

FAST = FollowerConfig(start="origin", checkpoint_every_blocks=5, checkpoint_every_seconds=0.5)


def tip_point(devnet: Devnet) -> Point:
    tip = devnet.chain.tip
    assert tip is not None
    return Point(tip.slot, tip.id.hex())


async def wait_for(condition: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def following(
    devnet: Devnet, event_log: EventLog, contract: WatchedContract, config: FollowerConfig = FAST
) -> AsyncIterator[ChainFollower]:
    """A follower running in the background for the duration of the block; stopped cleanly after."""
    follower = ChainFollower(event_log, contract, config)
    task = asyncio.create_task(follower.run(devnet.url))
    try:
        yield follower
    finally:
        follower.stop()
        await asyncio.wait_for(task, 30)


async def caught_up(devnet: Devnet, follower: ChainFollower, timeout: float = 30.0) -> None:
    await wait_for(lambda: follower.position == tip_point(devnet), timeout, "the devnet's tip")


def surviving_facts(event_log: EventLog) -> list[Fact]:
    """The chain facts of the log that no later rollback undid, in log order."""
    facts: list[Fact] = []
    for logged in event_log.iter_events():
        event: Event = logged.event
        if isinstance(event, RolledBack):
            facts = [f for f in facts if f[1] <= event.point.slot]
        elif isinstance(event, AllocationLocked | AllocationReleased | AllocationReclaimed):
            facts.append((event.topic, event.point.slot, event.point.header_hash, event.tx_id, event.out_ref))
    return facts


def projections_of(event_log: EventLog, path: Path, slots: SlotConfig) -> bytes:
    with ProjectionStore(SQLiteConfig(path)) as store:
        Projector(event_log, store, slots).catch_up()
        return store.dump(include_position=False)


def slot_config(devnet: Devnet) -> SlotConfig:
    return SlotConfig(
        zero_time_ms=devnet.network.start_time_ms, zero_slot=0, slot_length_ms=devnet.config.slot_length_ms
    )


async def reference_log(
    devnet: Devnet, directory: Path, registered: list[Event], contract: WatchedContract
) -> EventLog:
    """A fresh log of the final chain alone: same local events, one clean follow from origin to the tip."""
    clean = EventLog(SQLiteConfig(directory / "reference-events.db"))
    clean.append(registered)
    async with following(devnet, clean, contract) as follower:
        await caught_up(devnet, follower)
    return clean


class FreezingProxy:
    """A TCP proxy in front of the devnet that can freeze its current connections: they stay open but
    nothing passes any more, in either direction (a stalled link, as opposed to a dropped one)."""

    def __init__(self, target_url: str) -> None:
        host, port = target_url.removeprefix("ws://").rsplit(":", 1)
        self.target = (host, int(port))
        self.frozen: list[asyncio.Event] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> FreezingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for writer in self._writers:
            writer.transport.abort()
        assert self._server is not None
        self._server.close()

    def freeze(self) -> None:
        for flag in self.frozen:
            flag.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        frozen = asyncio.Event()
        self.frozen.append(frozen)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    if frozen.is_set():
                        continue  # swallowed: the peer never hears of it
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
