"""`kill -9` drill for the indexer: the follower runs in a child process against the devnet and is killed
at random moments, at least 20 times, while the chain grows and forks; each time it is restarted on the
same log. Afterwards the log holds exactly the facts of the final chain (no duplicate, none missing, in
order) and its projections equal those of a clean follow of the final chain.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from devnet_chain import ScheduleOnDevnet
from follow_support import caught_up, following, projections_of, reference_log, slot_config, surviving_facts

from milestoned.devnet.service import run_devnet
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import RolledBack
from milestoned.eventlog.verify import verify

KILLS = 20
CHILD = Path(__file__).with_name("kill9_follower.py")


def grow(schedule: ScheduleOnDevnet, rng: random.Random, open_refs: list[str]) -> None:
    """A few blocks: a registration, maybe a release or reclaim, empty blocks, sometimes a fork."""
    devnet = schedule.devnet
    if rng.random() < 0.3 and len(devnet.chain.blocks) > 12:
        devnet.rollback(rng.randint(1, 6), resubmit=rng.random() < 0.5)
        live = devnet.chain._pending_utxo
        open_refs[:] = [r for r in open_refs if _txin(r) in live]
    open_refs += schedule.register([rng.randint(1, 50) for _ in range(rng.randint(1, 3))])
    if open_refs and rng.random() < 0.6:
        chosen = open_refs.pop(rng.randrange(len(open_refs)))
        if rng.random() < 0.5:
            schedule.release([chosen])
        else:
            schedule.reclaim([chosen])
    for _ in range(rng.randint(5, 25)):
        devnet.produce_block()


def _txin(ref: str) -> object:
    from pycardano import TransactionInput

    tx_id, index = ref.split("#")
    return TransactionInput.from_primitive([bytes.fromhex(tx_id), int(index)])


async def test_kill_9_at_random_moments_leaves_the_log_equal_to_a_clean_follow(tmp_path: Path) -> None:
    rng = random.Random(9)
    log_path = tmp_path / "events.db"
    async with run_devnet(port=0, clock=False) as devnet:
        schedule = ScheduleOnDevnet(devnet, "kill9")
        registered = schedule.registered_event()
        with EventLog(SQLiteConfig(log_path)) as setup:
            setup.append([registered])
        schedule.fund(tokens=10**12)
        open_refs: list[str] = []
        for _ in range(8):
            grow(schedule, rng, open_refs)
        killed_mid_run = killed_behind_tip = rounds_with_writes = 0
        # the followers are forked by a server that imported their modules once (see kill9_follower)
        pipe = asyncio.subprocess.PIPE
        server = await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), "--serve", stdin=pipe, stdout=pipe
        )
        assert server.stdin is not None and server.stdout is not None
        try:
            assert await asyncio.wait_for(server.stdout.readline(), 60) == b"ready\n"
            for round_number in range(KILLS):
                with EventLog(SQLiteConfig(log_path)) as peek:
                    head_before = peek.head().position
                stderr = tmp_path / f"follower-{round_number}.err"
                hash_hex = schedule.scripts.validator_hash.hex()
                server.stdin.write(f"start {stderr} {devnet.url} {log_path} {hash_hex}\n".encode())
                await server.stdin.drain()
                line = await asyncio.wait_for(server.stdout.readline(), 60)
                assert line.split()[:1] == [b"following"], (line, stderr.read_text(errors="replace"))
                await asyncio.sleep(rng.uniform(0.0, 0.5))
                if rng.random() < 0.5:
                    grow(schedule, rng, open_refs)  # the chain moves (and sometimes forks) under the follower
                    await asyncio.sleep(rng.uniform(0.0, 0.2))
                server.stdin.write(b"kill " + line.split()[1] + b"\n")  # SIGKILL, unless it ended by itself
                await server.stdin.drain()
                ended, code = (await asyncio.wait_for(server.stdout.readline(), 60)).split()
                killed_mid_run += ended == b"killed"
                assert int(code) == -9, stderr.read_text(errors="replace")[-2000:]
                with EventLog(SQLiteConfig(log_path)) as peek:
                    rounds_with_writes += peek.head().position > head_before
                    cursor = peek.chain_cursor()
                tip = devnet.chain.tip.id.hex()  # type: ignore[union-attr]
                killed_behind_tip += cursor is None or cursor.header_hash != tip
        finally:
            server.stdin.close()
            await asyncio.wait_for(server.wait(), 60)
        print(
            f"kills: {killed_mid_run}, with writes: {rounds_with_writes}, behind the tip: {killed_behind_tip}"
        )
        assert rounds_with_writes >= KILLS // 4, "the follower was mostly killed before doing anything"
        assert killed_mid_run == KILLS
        grow(schedule, rng, open_refs)
        followed = EventLog(SQLiteConfig(log_path))
        async with following(devnet, followed, schedule.contract) as follower:  # the last restart, kept alive
            await caught_up(devnet, follower, timeout=60)
        assert verify(followed).ok
        reference = await reference_log(devnet, tmp_path, [registered], schedule.contract)
        facts = surviving_facts(followed)
        assert facts == surviving_facts(reference)
        assert len(facts) == len(set(facts))
        assert any(isinstance(e.event, RolledBack) for e in followed.iter_events()), "no fork was exercised"
        slots = slot_config(devnet)
        assert projections_of(followed, tmp_path / "p1.db", slots) == projections_of(
            reference, tmp_path / "p2.db", slots
        )
