"""A real registration split over several transactions, seen only through the chain: a follower that was
never told about the schedule discovers it from the transactions' metadata, forgets it when a block
holding one part is rolled back, and discovers it again when the part lands anew."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pycardano import Network
from txbuilder_support import ADMIN, ADMIN_ADDRESS, large_schedule, world

from milestoned.contracts.loader import default_blueprint
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import AllocationLocked, RegistrationPartSeen, ScheduleDiscovered
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.discovery import FollowPolicy
from milestoned.indexer.filter import WatchedContract
from milestoned.indexer.follower import ChainFollower
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit


async def until(condition: object, what: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_split_registration_is_discovered_and_survives_a_rollback_of_a_part(tmp_path: Path) -> None:
    async with world() as w:
        definition = large_schedule(w.devnet, w.now_ms, 45)
        plan = await build_registration(w.chain, definition, ADMIN_ADDRESS)
        parts = [t for t in plan.txs if t.kind == "registration"]
        assert len(parts) == 2
        sid = plan.schedule_id.hex()
        contract = WatchedContract(default_blueprint().validator_hash, Network.TESTNET)
        with EventLog(SQLiteConfig(tmp_path / "events.db")) as log:
            follower = ChainFollower(
                log,
                contract,
                FollowerConfig(start="origin", checkpoint_every_seconds=0.1),
                follow=FollowPolicy(admin_key_hashes=frozenset({definition.admin_key_hash.hex()})),
                network="devnet",
            )
            task = asyncio.create_task(follower.run(w.devnet.url))
            try:
                for built in plan.txs:  # one block per transaction: the parts land apart
                    await submit(w.chain, sign(built, [ADMIN]))
                    w.devnet.produce_block()
                await until(lambda: sid in follower.state.schedules, "the schedule to be discovered")
                assert len(follower.state.open_allocations) == 45

                w.devnet.rollback(1, resubmit=False)  # the block of the second part is gone
                w.devnet.produce_block()
                await until(lambda: sid not in follower.state.schedules, "the rollback to forget it")
                assert follower.state.open_allocations == {}
                assert sorted(follower.state.registration_parts[sid]) == [0]

                await submit(w.chain, sign(parts[1], [ADMIN]))  # the part lands again
                w.devnet.produce_block()
                await until(lambda: sid in follower.state.schedules, "the schedule to be discovered again")
                assert len(follower.state.open_allocations) == 45
            finally:
                follower.stop()
                await asyncio.wait_for(task, 30)
            events = [e.event for e in log.iter_events()]
        assert sum(isinstance(e, ScheduleDiscovered) for e in events) == 2
        assert sum(isinstance(e, RegistrationPartSeen) for e in events) == 3
        final = [e for e in events if isinstance(e, AllocationLocked)][-45:]
        assert sorted(e.amount for e in final) == sorted(a.token_amount for a in definition.allocations)
