"""A query brings the projections forward by at most one batch before answering, never by a whole
catch-up (the first query after a 10,000-allocation registration was recorded used to apply all of it
first), and answers from the projections as they are while another catch-up is under way. Counted in
projection positions, in process (the socket-level version is test_daemon_scale_queries)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from milestoned.daemon import jsonrpc, query_methods
from milestoned.daemon.peercred import AdminPolicy, Peer
from milestoned.daemon.service import DaemonService
from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.events import AllocationLocked, Event
from milestoned.eventlog.testing import TEST_SLOTS, ChainSimulator, make_schedule
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore
from milestoned.shared.config import DaemonConfig, with_overrides

ROOT = Peer(0, 0, 1, frozenset())
BATCH = 4


@contextmanager
def _service(
    tmp_path: Path, *, batch_size: int | None = None, projector: bool = True
) -> Iterator[tuple[DaemonService, EventLog, ProjectionStore]]:
    """A daemon service in process on SQLite stores in `tmp_path` (its worker threads closed at the end);
    with `projector`, projecting in batches of `batch_size` (the projector's default when None) and one
    schedule registered."""
    config = with_overrides(DaemonConfig(), chain={"network": "devnet"}, store={"data_dir": str(tmp_path)})
    with (
        EventLog(parse_store_url(str(tmp_path / "events.db"))) as log,
        ProjectionStore(parse_store_url(str(tmp_path / "projections.db"))) as projections,
    ):
        service = DaemonService(config, log, projections, None, AdminPolicy.build((), (), ""))
        try:
            if projector:
                options = {} if batch_size is None else {"batch_size": batch_size}
                service.projector = Projector(log, projections, TEST_SLOTS, **options)
                service.append([make_schedule(0)])
            yield service, log, projections
        finally:
            service.close_threads()


async def test_a_query_applies_one_batch_and_the_projections_job_the_rest(tmp_path: Path) -> None:
    with _service(tmp_path, batch_size=BATCH) as (service, log, projections):
        assert projections.position() == 1
        simulator = ChainSimulator(schedules=1)
        events: list[Event] = []
        while len(events) < 5 * BATCH:
            events += simulator.next_block(max_locks=3, max_exits=0)
        log.append(events)  # as the chain follower records a block: not through the service
        head = log.head().position

        answer = await query_methods.claimable(service, {}, ROOT)
        assert projections.position() == 1 + BATCH
        assert service.projection_position == 1 + BATCH
        shown = orjson.loads(jsonrpc.result_line(1, answer))["result"]["allocations"]
        locked_so_far = [e for e in events[:BATCH] if isinstance(e, AllocationLocked)]
        assert sorted(row["allocation"] for row in shown) == sorted(e.out_ref for e in locked_so_far)

        await query_methods.milestones(service, {}, ROOT)
        assert projections.position() == 1 + 2 * BATCH
        assert (await _status_tip(service)) == _tip(projections)  # the tip of that position

        # a catch-up under way (`service.catching_up`): the query answers without waiting
        with service._catch_up_lock:
            await query_methods.submissions(service, {}, ROOT)
            assert projections.position() == 1 + 2 * BATCH

        assert service.catch_up() == head - 1 - 2 * BATCH  # the projections job: all the rest
        everything = orjson.loads(jsonrpc.result_line(1, await query_methods.claimable(service, {}, ROOT)))
        locked = [e for e in events if isinstance(e, AllocationLocked)]
        assert len(everything["result"]["allocations"]) == len(locked)
        assert (await _status_tip(service)) == _tip(projections) != (None, None)  # read again


async def test_far_behind_a_query_answers_from_the_projections_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than QUERY_CATCH_UP_EVENTS behind (the follower recording a large chain), a query applies
    nothing itself: the projections job catches up."""
    monkeypatch.setattr(query_methods, "QUERY_CATCH_UP_EVENTS", 2 * BATCH)
    with _service(tmp_path, batch_size=BATCH) as (service, log, projections):
        simulator = ChainSimulator(schedules=1)
        events: list[Event] = []
        while len(events) <= 2 * BATCH:
            events += simulator.next_block(max_locks=3, max_exits=0)
        log.append(events)
        answer = orjson.loads(jsonrpc.result_line(1, await query_methods.claimable(service, {}, ROOT)))
        assert answer["result"]["allocations"] == []
        assert projections.position() == service.projection_position == 1
        assert service.catch_up() == len(events)
        await query_methods.claimable(service, {}, ROOT)  # at the head: nothing to apply
        assert projections.position() == 1 + len(events)


async def test_a_refused_beneficiary_is_refused_every_time(tmp_path: Path) -> None:
    """Checked addresses are remembered; refusals are not (each bad request gets its error)."""
    with _service(tmp_path, projector=False) as (service, _, _):
        for _ in range(2):
            with pytest.raises(jsonrpc.RpcError, match="beneficiary"):
                await query_methods.claimable(service, {"beneficiary": "addr_test1notanaddress"}, ROOT)


async def _status_tip(service: DaemonService) -> tuple[int | None, str | None]:
    tip = (await query_methods.status(service, {}, ROOT))["projections"]["chain_tip"]
    return (None, None) if tip is None else (tip["slot"], tip["header_hash"])


def _tip(projections: ProjectionStore) -> tuple[int | None, str | None]:
    tip = projections.chain_tip()
    return (None, None) if tip is None else (tip.slot, tip.header_hash)


async def test_status_never_shows_the_projections_ahead_of_the_log(tmp_path: Path) -> None:
    """Events committed by another writer (as the chain follower's thread commits before noting the
    head) and already projected: status reads the head again rather than answer projections at 5 and a
    log at 1."""
    with (
        _service(tmp_path, batch_size=BATCH) as (service, log, projections),
        EventLog(parse_store_url(str(tmp_path / "events.db"))) as other_writer,
    ):
        simulator = ChainSimulator(schedules=1)
        events: list[Event] = []
        while len(events) < 2 * BATCH:
            events += simulator.next_block(max_locks=3, max_exits=0)
        other_writer.head(refresh=True)
        other_writer.append(events)
        service.catch_up()
        assert log.head().position == 1 < projections.position() == 1 + len(events)  # the race
        answer = await query_methods.status(service, {}, ROOT)
        assert answer["projections"]["position"] == 1 + len(events)
        assert answer["log"]["position"] == 1 + len(events) == answer["health"]["log_position"]


async def test_in_flight_follows_the_log_between_claimable_answers(tmp_path: Path) -> None:
    """The in-flight map is remembered between answers while the log does not move, and is built again
    as soon as a submission is recorded or settled."""
    from milestoned.eventlog.events import ReleaseSubmitted, SubmissionExpired

    with _service(tmp_path) as (service, _, _):
        simulator = ChainSimulator(schedules=1)
        events: list[Event] = []
        while sum(isinstance(e, AllocationLocked) for e in events) < 2:
            events += simulator.next_block(max_locks=3, max_exits=0)
        service.append(events)
        ref = next(e.out_ref for e in events if isinstance(e, AllocationLocked))

        async def in_flight() -> dict[str, bool]:
            answer = orjson.loads(jsonrpc.result_line(1, await query_methods.claimable(service, {}, ROOT)))
            return {row["allocation"]: row["in_flight"] for row in answer["result"]["allocations"]}

        assert not any((await in_flight()).values())
        service.append([ReleaseSubmitted(tx_id="ab" * 32, allocation_refs=(ref,), validity_upper_slot=9)])
        shown = await in_flight()
        assert shown[ref] and sum(shown.values()) == 1
        assert await in_flight() == shown  # nothing moved: the same answer
        service.append([SubmissionExpired(tx_id="ab" * 32, reason="validity passed")])
        assert not any((await in_flight()).values())


async def test_a_beneficiary_with_allocations_is_answered_without_decoding_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows hold canonical addresses of the daemon's network: an address that has rows is answered as
    is; any other is checked (and refused when it is no address), each time."""
    checks: list[str] = []
    real_check = query_methods.checked_beneficiary

    def counting_check(address: str, network: object) -> str:
        checks.append(address)
        return real_check(address, network)  # type: ignore[arg-type]

    monkeypatch.setattr(query_methods, "checked_beneficiary", counting_check)
    with _service(tmp_path) as (service, _, _):
        simulator = ChainSimulator(schedules=1)
        events: list[Event] = []
        while not any(isinstance(e, AllocationLocked) for e in events):
            events += simulator.next_block(max_locks=3, max_exits=0)
        service.append(events)
        lock = next(e for e in events if isinstance(e, AllocationLocked))

        async def rows(address: str) -> list[dict[str, object]]:
            answer = await query_methods.claimable(service, {"beneficiary": address}, ROOT)
            return orjson.loads(jsonrpc.result_line(1, answer))["result"]["allocations"]  # type: ignore[no-any-return]

        mine = await rows(lock.beneficiary)
        assert mine and all(row["beneficiary"] == lock.beneficiary for row in mine)
        assert checks == []
        nobody = "addr_test1vz7x35nfy9eu9lnyyre0m4vc67g4qsvenklnlqn4r70qk9svf3rxr"
        assert await rows(nobody) == [] and checks == [nobody]
        with pytest.raises(jsonrpc.RpcError, match="beneficiary"):
            await rows("addr_test1notanaddress")


async def test_status_answers_from_what_the_catch_up_noted_without_a_worker_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projections' tip and paused schedules are noted with their position: `status` reads the store
    only when the position moved since (a worker-thread trip queues behind every other answer), and a
    pause recorded and projected shows in the next answer."""
    from milestoned.eventlog.events import ChainPoint, SchedulePauseChanged, ScheduleStateCreated

    with _service(tmp_path) as (service, _, projections):
        schedule = make_schedule(0).schedule_id
        point = ChainPoint(5, "ee" * 32)
        service.append([ScheduleStateCreated(point, "aa" * 32, schedule, "aa" * 32 + "#0", 0)])
        service.catch_up()
        trips: list[object] = []
        real_read = service.read

        async def counting_read(fn: Any, *args: Any) -> Any:
            trips.append(fn)
            return await real_read(fn, *args)

        monkeypatch.setattr(service, "read", counting_read)
        for _ in range(3):
            assert (await query_methods.status(service, {}, ROOT))["paused_schedules"] == []
        assert trips == []
        assert (await _status_tip(service)) == _tip(projections) == (5, "ee" * 32)

        spent = ("aa" * 32 + "#0",)
        pause = SchedulePauseChanged(
            ChainPoint(6, "ff" * 32), "bb" * 32, schedule, "bb" * 32 + "#0", 1, spent
        )
        service.append([pause])
        service.catch_up()
        assert (await query_methods.status(service, {}, ROOT))["paused_schedules"] == [schedule]
        assert (await _status_tip(service)) == (6, "ff" * 32) and trips == []

        service.projection_summary = None  # as a follower daemon, whose projections the leader moves
        assert (await query_methods.status(service, {}, ROOT))["paused_schedules"] == [schedule]
        assert trips == [service.read_projection_summary]
        await query_methods.status(service, {}, ROOT)
        assert len(trips) == 1  # noted again
