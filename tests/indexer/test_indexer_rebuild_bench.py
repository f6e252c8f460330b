"""The short version of the recovery benchmark (`make bench` runs it on 10 x 100 allocations): on a small
chain built the same way, a rebuild from the chain with nothing known and plain indexing with the
schedules known both see every schedule and every allocation (the benchmark refuses a figure otherwise),
and the rebuild's log equals plain indexing's apart from how the schedules became known."""

from __future__ import annotations

from bench import recovery
from bench.chain_fixture import bench_chain
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReclaimed,
    AllocationReleased,
    OracleSignatureSeen,
    ScheduleDiscovered,
)


async def test_a_rebuild_sees_what_plain_indexing_sees() -> None:
    async with bench_chain(2, 6, 80, reclaims=1, quiet=True) as chain:
        figures = await recovery.measure(chain)
        assert set(figures) == {"recovery.rebuild_s", "recovery.index_s", "recovery.ratio_to_index"}
        _, rebuilt = await recovery._follow(chain, [])
        discovered = [e for e in rebuilt if isinstance(e, ScheduleDiscovered)]
        assert sorted(e.schedule_id for e in discovered) == sorted(chain.schedule_ids)
        _, indexed = await recovery._follow(chain, recovery.registered_events(rebuilt))

    def facts(events: list[object]) -> set[tuple[str, str, str]]:
        kinds = AllocationLocked | AllocationReleased | AllocationReclaimed | OracleSignatureSeen
        return {
            (type(e).__name__, e.tx_id, getattr(e, "out_ref", "")) for e in events if isinstance(e, kinds)
        }

    assert facts(rebuilt) == facts(indexed)
    assert sum(isinstance(e, AllocationReleased) for e in rebuilt) == chain.released
    assert sum(isinstance(e, AllocationReclaimed) for e in rebuilt) == chain.reclaimed
