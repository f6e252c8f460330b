"""Property: whatever the chain does (registrations, releases, reclaims, failed-script transactions, empty
blocks, forks 1 to 50 blocks deep, with or without the forked transactions coming back), the follower's log
projects into exactly the projections of the final chain alone, and holds exactly its facts.

Each example runs a real devnet, real contract transactions and the real follower over a WebSocket, so the
examples are few (10, derandomised so CI sees the same ones every run).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from devnet_chain import ScheduleOnDevnet
from follow_support import caught_up, following, projections_of, reference_log, slot_config, surviving_facts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycardano import TransactionInput

from milestoned.contracts.loader import ensure_recursion_limit
from milestoned.devnet.service import run_devnet
from milestoned.eventlog import EventLog, SQLiteConfig

ensure_recursion_limit()  # uplc needs it; raised up front so hypothesis does not warn about the change

FORK_PADDING = 50
"""Empty blocks after the setup, so that a fork up to 50 deep never removes the admin's funds."""

Op = tuple[str, int, bool]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(1, 3), st.booleans()),
        st.tuples(st.just("release"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("reclaim"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("fail"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("blocks"), st.integers(1, 20), st.booleans()),
        st.tuples(st.just("fork"), st.integers(1, 50), st.booleans()),
        st.tuples(st.just("sync"), st.just(0), st.just(False)),
    ),
    min_size=3,
    max_size=12,
).filter(lambda ops: any(op[0] == "fork" for op in ops))


def _txin(ref: str) -> TransactionInput:
    tx_id, index = ref.split("#")
    return TransactionInput.from_primitive([bytes.fromhex(tx_id), int(index)])


async def scenario(ops: list[Op], directory: Path) -> None:
    async with run_devnet(port=0, clock=False, failing_scripts="collateral") as devnet:
        schedule = ScheduleOnDevnet(devnet, "property")
        registered = schedule.registered_event()
        followed = EventLog(SQLiteConfig(directory / "events.db"))
        followed.append([registered])
        schedule.fund(tokens=10**12, collaterals=sum(op[0] == "fail" for op in ops) + 1)
        refs: list[str] = []
        registered_refs = schedule.register([7])  # something to release or reclaim from the start
        refs += registered_refs
        for _ in range(FORK_PADDING):
            devnet.produce_block()
        floor = len(devnet.chain.blocks)
        async with following(devnet, followed, schedule.contract) as follower:
            for kind, number, flag in ops:
                live = devnet.chain._pending_utxo
                open_refs = [r for r in refs if _txin(r) in live]
                if kind == "register":
                    refs += schedule.register([number * 10 + i for i in range(number)])
                elif kind in ("release", "reclaim", "fail") and open_refs:
                    chosen = open_refs[number % len(open_refs)]
                    if kind == "release":
                        schedule.release([chosen])
                    elif kind == "reclaim":
                        schedule.reclaim([chosen])
                    else:
                        schedule.release([chosen], signatures=1)  # scripts fail: collateral taken
                elif kind == "blocks":
                    for _ in range(number):
                        devnet.produce_block()
                elif kind == "fork":
                    depth = min(number, len(devnet.chain.blocks) - floor)
                    devnet.rollback(depth, resubmit=flag)
                    devnet.produce_block()  # the new fork (with the resubmitted transactions, if any)
                elif kind == "sync":
                    await caught_up(devnet, follower)
                if flag and kind != "fork":
                    await asyncio.sleep(0.05)  # let the follower take part of it before the next step
            await caught_up(devnet, follower, timeout=60)
        reference = await reference_log(devnet, directory, [registered], schedule.contract)
        assert surviving_facts(followed) == surviving_facts(reference)
        slots = slot_config(devnet)
        assert projections_of(followed, directory / "p1.db", slots) == projections_of(
            reference, directory / "p2.db", slots
        )


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(ops=operations)
def test_followed_projections_equal_those_of_the_final_chain_alone(ops: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(ops, Path(directory)))
