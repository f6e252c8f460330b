"""Recovery benchmark: rebuilding a lost log from the chain, next to plain indexing of the same blocks.

On the chain of `bench.chain_fixture` (10 schedules x 100 allocations, releases, reclaims, ~5,000
blocks; the same chain as the audit benchmark, which calls `measure` while its chain is up):

- `recovery.rebuild_s`: a fresh log (SQLite) and the daemon's follower with nothing known, following
  from the origin to the tip: every schedule is discovered from its registration metadata (the policy
  re-derived from the definition), every allocation, release, reclaim and used signature recorded;
- `recovery.index_s`: the floor measured in the same run: the same follower on the same blocks with the
  schedules already known (their `ScheduleRegistered` in the log), as a daemon that never lost its log;
- `recovery.ratio_to_index`: rebuild over index (the issue aims at <= 1.5).

Best of 3 each, alternating; each run checks that it saw every schedule and allocation of the chain.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from pycardano import Network

from bench.chain_fixture import BenchChain, bench_chain
from milestoned.contracts.loader import default_blueprint
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import AllocationLocked, Event, ScheduleDiscovered, ScheduleRegistered
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.discovery import FollowPolicy
from milestoned.indexer.filter import WatchedContract
from milestoned.indexer.follower import ChainFollower
from milestoned.ogmios.model import Point

RUNS = 3


async def _follow(chain: BenchChain, seed: list[Event]) -> tuple[float, list[Event]]:
    """Seconds for a follower on a fresh log (seeded with `seed`) to reach the chain's tip; its events."""
    contract = WatchedContract(default_blueprint().validator_hash, Network.TESTNET)
    tip = chain.devnet.chain.tip
    assert tip is not None
    target = Point(tip.slot, tip.id.hex())
    with (
        tempfile.TemporaryDirectory(prefix="bench-recovery-") as folder,
        EventLog(SQLiteConfig(Path(folder) / "events.db")) as log,
    ):
        if seed:
            log.append(seed)
        follower = ChainFollower(
            log,
            contract,
            FollowerConfig(start="origin"),
            follow=FollowPolicy(everything=True),
            network="devnet",
        )
        began = time.perf_counter()
        task = asyncio.create_task(follower.run(chain.url))
        while follower.position != target:
            await asyncio.sleep(0.005)
            if task.done():
                task.result()
        follower.stop()
        await asyncio.wait_for(task, 30)
        seconds = time.perf_counter() - began
        events = [logged.event for logged in log.iter_events()]
    return seconds, events


def _check(chain: BenchChain, events: list[Event], what: str) -> None:
    schedules = {e.schedule_id for e in events if isinstance(e, ScheduleDiscovered | ScheduleRegistered)}
    locks = sum(isinstance(e, AllocationLocked) for e in events)
    if schedules != set(chain.schedule_ids) or locks != chain.allocations:
        raise AssertionError(
            f"the {what} saw {len(schedules)} schedules and {locks} allocations; the chain holds "
            f"{len(chain.schedule_ids)} and {chain.allocations}"
        )


def registered_events(events: list[Event]) -> list[Event]:
    """The schedules a rebuild discovered, as a daemon that registered them itself has them."""
    return [
        ScheduleRegistered(schedule_id=e.schedule_id, definition=e.definition, policy=e.policy)
        for e in events
        if isinstance(e, ScheduleDiscovered)
    ]


async def measure(chain: BenchChain) -> dict[str, float]:
    rebuilds: list[float] = []
    indexes: list[float] = []
    for _ in range(RUNS):
        seconds, events = await _follow(chain, [])
        _check(chain, events, "rebuild")
        rebuilds.append(seconds)
        seconds, events = await _follow(chain, registered_events(events))
        _check(chain, events, "plain indexing")
        indexes.append(seconds)
    rebuild, index = min(rebuilds), min(indexes)
    print("  rebuild runs: " + ", ".join(f"{s:.3f} s" for s in rebuilds))
    print("  index runs:   " + ", ".join(f"{s:.3f} s" for s in indexes))
    print(f"  floor: plain indexing of the same blocks, schedules known   {index:8.3f} s")
    print(
        f"  rebuild from the chain (discovery, nothing known)          {rebuild:8.3f} s   "
        f"ratio to indexing {rebuild / index:.2f} (aim <= 1.5)"
    )
    return {
        "recovery.rebuild_s": rebuild,
        "recovery.index_s": index,
        "recovery.ratio_to_index": rebuild / index,
    }


async def _measure() -> dict[str, float]:
    from bench.audit import ALLOCATIONS, BLOCKS, SCHEDULES

    async with bench_chain(SCHEDULES, ALLOCATIONS, BLOCKS) as chain:
        return await measure(chain)


def run() -> dict[str, float]:
    return asyncio.run(_measure())
