"""The whole follower against the real devnet (real WebSocket, real ledger, real scripts, real log)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from devnet_chain import ScheduleOnDevnet
from follow_support import (
    FreezingProxy,
    caught_up,
    following,
    projections_of,
    reference_log,
    slot_config,
    surviving_facts,
    tip_point,
    wait_for,
)

from milestoned.devnet.service import Devnet, run_devnet
from milestoned.eventlog import EventLog, SQLiteConfig
from milestoned.eventlog.events import AllocationLocked, OracleSignatureSeen, RolledBack
from milestoned.indexer.config import FollowerConfig
from milestoned.indexer.follower import ChainFollower
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    async with run_devnet(port=0, clock=False, failing_scripts="collateral") as running:
        yield running


@pytest.fixture
def event_log(tmp_path: Path) -> EventLog:
    return EventLog(SQLiteConfig(tmp_path / "events.db"))


async def test_real_transactions_become_the_right_events(
    devnet: Devnet, event_log: EventLog, tmp_path: Path
) -> None:
    schedule = ScheduleOnDevnet(devnet, "real")
    event_log.append([schedule.registered_event(), schedule.signature_event(0), schedule.signature_event(2)])
    schedule.fund()
    async with following(devnet, event_log, schedule.contract) as follower:
        refs = schedule.register([100, 200, 300, 400])
        released = schedule.release(refs[:1])
        reclaimed = schedule.reclaim([refs[1]])
        schedule.release([refs[2]], signatures=1)  # one short of the quorum: scripts fail, collateral taken
        schedule.spoof()
        await caught_up(devnet, follower)
    facts = surviving_facts(event_log)
    assert [(f[0], f[4]) for f in facts] == [
        *[("AllocationLocked/v1", ref) for ref in refs],
        ("AllocationReleased/v1", refs[0]),
        ("AllocationReclaimed/v1", refs[1]),
    ]
    assert facts[4][3] == released and facts[5][3] == reclaimed
    seen = [e.event for e in event_log.iter_events() if isinstance(e.event, OracleSignatureSeen)]
    assert [(e.tx_id, e.oracle_key) for e in seen] == [
        (released, schedule.parameters.oracle_keys[i].hex()) for i in (0, 1)
    ]  # the failed release's signature counts for nothing
    locked = [e.event for e in event_log.iter_events() if isinstance(e.event, AllocationLocked)]
    assert [e.amount for e in locked] == [100, 200, 300, 400]
    assert locked[0].beneficiary == str(schedule.beneficiary(0))
    assert follower.state.open_allocations.keys() == {refs[2], refs[3]}
    # every chain event's point is a block of the devnet's chain
    on_chain = {(b.slot, b.id.hex()) for b in devnet.chain.blocks}
    assert {(f[1], f[2]) for f in facts} <= on_chain
    assert event_log.chain_cursor() is not None
    assert event_log.chain_cursor().header_hash == devnet.chain.tip.id.hex()  # type: ignore[union-attr]
    # ... and the projections show what a user expects
    with ProjectionStore(SQLiteConfig(tmp_path / "projections.db")) as projections:
        Projector(event_log, projections, slot_config(devnet)).catch_up()
        (milestone,) = projections.milestone_states()
        # oracles 0 and 2 committed here; the release carried 0 and 1 on chain: all three have signed
        assert milestone.quorum_reached and len(milestone.signed_by) == 3
        assert (milestone.allocations_locked, milestone.amount_locked) == (4, 1000)
        assert (milestone.allocations_released, milestone.amount_released) == (1, 100)
        assert (milestone.allocations_reclaimed, milestone.amount_reclaimed) == (1, 200)
        claimable = {c.out_ref: c for c in projections.claimable()}
        assert claimable[refs[0]].released and not claimable[refs[0]].claimable_now
        assert claimable[refs[1]].reclaimed and not claimable[refs[1]].claimable_now
        assert claimable[refs[2]].claimable_now  # its failed release changed nothing
        assert claimable[refs[3]].claimable_now and claimable[refs[3]].beneficiary == str(
            schedule.beneficiary(3)
        )


async def test_a_fork_is_recorded_and_the_projections_match_the_final_chain(
    devnet: Devnet, event_log: EventLog, tmp_path: Path
) -> None:
    schedule = ScheduleOnDevnet(devnet, "fork")
    registered = schedule.registered_event()
    event_log.append([registered])
    schedule.fund()
    async with following(devnet, event_log, schedule.contract) as follower:
        refs = schedule.register([10, 20, 30])
        for _ in range(3):
            devnet.produce_block()
        schedule.release([refs[0]])
        schedule.reclaim([refs[1]])
        await caught_up(devnet, follower)
        # The fork drops the release and the reclaim (and the empty blocks); it keeps the registration.
        devnet.rollback(5, resubmit=False)
        devnet.produce_block()
        schedule.release([refs[1]])  # on the new fork, refs[1] is released instead
        await caught_up(devnet, follower)
    assert any(isinstance(e.event, RolledBack) for e in event_log.iter_events())
    reference = await reference_log(devnet, tmp_path, [registered], schedule.contract)
    assert surviving_facts(event_log) == surviving_facts(reference)
    slots = slot_config(devnet)
    assert projections_of(event_log, tmp_path / "p1.db", slots) == projections_of(
        reference, tmp_path / "p2.db", slots
    )


async def test_dropped_connections_mid_sync_leave_no_gap_and_no_duplicate(
    devnet: Devnet, event_log: EventLog, tmp_path: Path
) -> None:
    schedule = ScheduleOnDevnet(devnet, "drop")
    registered = schedule.registered_event()
    event_log.append([registered])
    schedule.fund()
    refs: list[str] = []
    for round_ in range(6):  # a chain to sync: relevant blocks between runs of empty ones
        refs += schedule.register([round_ + 1, round_ + 2])
        for _ in range(80):
            devnet.produce_block()
    schedule.release(refs[:2])
    config = FollowerConfig(
        start="origin", checkpoint_every_blocks=7, checkpoint_every_seconds=60, in_flight=1
    )
    follower = ChainFollower(event_log, schedule.contract, config)
    task = asyncio.create_task(follower.run(devnet.url))
    drops = 0
    while drops < 5 and follower.position != tip_point(devnet):
        before = follower.blocks_seen
        await wait_for(
            lambda b=before: follower.blocks_seen > b + 10 or follower.position == tip_point(devnet),
            30,
            "progress",
        )
        if follower.position != tip_point(devnet):
            devnet.drop_connections()
            drops += 1
    await caught_up(devnet, follower)
    follower.stop()
    await asyncio.wait_for(task, 30)
    assert drops >= 2, "the follower caught up before the connection could be dropped twice"
    assert follower.sessions == drops + 1
    reference = await reference_log(devnet, tmp_path, [registered], schedule.contract)
    facts = surviving_facts(event_log)
    assert facts == surviving_facts(reference)
    assert len(facts) == len(set(facts)) == 12 + 2
    assert not any(isinstance(e.event, RolledBack) for e in event_log.iter_events())


async def test_a_stalled_connection_is_abandoned_and_resumed_without_gaps(
    devnet: Devnet, event_log: EventLog, tmp_path: Path
) -> None:
    schedule = ScheduleOnDevnet(devnet, "stall")
    registered = schedule.registered_event()
    event_log.append([registered])
    schedule.fund()
    # A short silence makes the follower probe; a probe gets 2 s to be answered, so that a loaded
    # machine's pause is not taken for a stall (the frozen link never answers at all).
    config = FollowerConfig(start="origin", stall_timeout_seconds=0.3, probe_timeout_seconds=2.0, in_flight=5)
    async with FreezingProxy(devnet.url) as proxy:
        follower = ChainFollower(event_log, schedule.contract, config)
        task = asyncio.create_task(follower.run(proxy.url))
        refs = schedule.register([1, 2])
        await caught_up(devnet, follower)
        await asyncio.sleep(1.0)  # a quiet chain at the tip, with the node answering: not a stall
        assert follower.sessions == 1
        proxy.freeze()
        refs += schedule.register([3])  # the follower cannot see this block through the frozen link
        schedule.release(refs[:1])
        await caught_up(devnet, follower, timeout=60)
        follower.stop()
        await asyncio.wait_for(task, 30)
    assert follower.sessions == 2
    reference = await reference_log(devnet, tmp_path, [registered], schedule.contract)
    assert surviving_facts(event_log) == surviving_facts(reference)
    assert len(surviving_facts(event_log)) == 4


async def test_a_tip_start_is_recorded_so_a_restart_before_any_block_misses_nothing(
    devnet: Devnet, event_log: EventLog
) -> None:
    schedule = ScheduleOnDevnet(devnet, "tip")
    event_log.append([schedule.registered_event()])
    schedule.fund()
    before = schedule.register([5])  # before the first start: not ours to see
    config = FollowerConfig(start="tip")
    async with following(devnet, event_log, schedule.contract, config) as first:
        await caught_up(devnet, first)
    assert first.blocks_seen == 0
    after = schedule.register([6, 7])  # while nothing runs
    async with following(devnet, event_log, schedule.contract, config) as second:
        await caught_up(devnet, second)
    assert [f[4] for f in surviving_facts(event_log)] == after
    assert before[0] not in second.state.open_allocations
