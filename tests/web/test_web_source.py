"""Snapshots of a running daemon's state: shared between changes, rebuilt off the loop, never a 404
for a schedule the daemon already follows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from milestoned.daemon.peercred import AdminPolicy
from milestoned.daemon.service import DaemonService
from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.testing import TEST_SLOTS, ChainSimulator, make_schedule
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore
from milestoned.shared.config import DaemonConfig, with_overrides
from milestoned.web import source


async def test_snapshots_follow_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MIN_REBUILD_S", 0.0)
    config = with_overrides(DaemonConfig(), chain={"network": "devnet"}, store={"data_dir": str(tmp_path)})
    with (
        EventLog(parse_store_url(str(tmp_path / "events.db"))) as log,
        ProjectionStore(parse_store_url(str(tmp_path / "projections.db"))) as projections,
    ):
        service = DaemonService(config, log, projections, None, AdminPolicy.build((), (), ""))
        web = source.DaemonSource(service)
        try:
            web.snapshot()
            raise AssertionError("a snapshot before the projections run")
        except source.Unavailable:
            pass
        service.projector = Projector(log, projections, TEST_SLOTS)
        first = web.snapshot()
        assert first.schedules == () and web.snapshot() is first  # shared while nothing moved

        # a new schedule is in the very next snapshot (its page must not be a 404)
        service.append([make_schedule(0)])
        second = web.snapshot()
        assert [s.schedule_id for s in second.schedules] == [make_schedule(0).schedule_id]

        # other changes: the previous snapshot is served while the next one is built in a thread
        simulator = ChainSimulator(schedules=1)
        for _ in range(5):
            service.append(simulator.next_block(max_locks=3, max_exits=0))
        assert web.snapshot() is second
        for _ in range(100):
            await asyncio.sleep(0.05)
            if web.snapshot() is not second:
                break
        third = web.snapshot()
        assert third is not second
        assert third.log_position == log.head().position
        assert len(third.index.allocations) == len(projections.claimable())
