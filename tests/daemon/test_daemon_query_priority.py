"""Socket queries first: while a read-only request is answered, the daemon's background work (the chain
follower, the projections job) waits at its next safe point, for that query at most `max_pause_s`
(`daemon.query_priority`). Ordered by events and counters, never timed: a thread is seen waiting
(`QueryPriority.waiting`) before the query ends, and what it did while waiting is checked."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from milestoned.daemon.peercred import AdminPolicy, Peer
from milestoned.daemon.query_priority import QueryPriority, start_worker_threads
from milestoned.daemon.service import READER_THREADS, DaemonService
from milestoned.daemon.socket_server import Method, SocketServer
from milestoned.eventlog import EventLog, parse_store_url
from milestoned.eventlog.events import ChainCursorCheckpointed, ChainPoint
from milestoned.eventlog.testing import TEST_SLOTS, make_schedule
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore
from milestoned.shared.config import DaemonConfig, with_overrides

ROOT = Peer(0, 0, 0, frozenset())
LONG = 600.0
"""A pause bound no test reaches: only the end of the query lets the background go on."""


def until(condition: Any, what: str) -> None:
    """Wait (up to a minute, a bound against hanging, not a measurement) until `condition()`."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


def test_no_query_no_pause() -> None:
    priority = QueryPriority(LONG)
    assert priority.pause() is False
    with priority.answering():
        pass
    assert priority.pause() is False
    assert (priority.busy, priority.pauses) == (0, 0)


def test_a_background_thread_waits_until_the_last_query_is_answered() -> None:
    priority = QueryPriority(LONG)
    trace: list[str] = []
    priority.begin()
    priority.begin()  # two queries at once
    worker = threading.Thread(target=lambda: trace.append(f"paused={priority.pause()}"))
    worker.start()
    until(lambda: priority.waiting == 1, "the worker waits")
    trace.append("first answered")
    priority.end()
    assert priority.waiting == 1 and worker.is_alive()  # one query still being answered
    trace.append("second answered")
    priority.end()
    worker.join(60)
    assert trace == ["first answered", "second answered", "paused=True"]
    assert (priority.busy, priority.waiting, priority.pauses) == (0, 0, 1)


def test_a_query_that_never_ends_only_slows_the_background_down() -> None:
    priority = QueryPriority(0.001)
    priority.begin()
    results = [priority.pause() for _ in range(3)]  # returns each time, the query still unanswered
    assert results == [True, True, True]
    assert priority.pauses == 3 and priority.busy == 1


async def test_the_socket_counts_read_only_requests_not_changes() -> None:
    priority = QueryPriority(LONG)
    seen: dict[str, int] = {}

    async def query(params: dict[str, Any], peer: Peer) -> Any:
        seen["query"] = priority.busy
        return "ok"

    async def change(params: dict[str, Any], peer: Peer) -> Any:
        seen["change"] = priority.busy
        return "done"

    async def failing(params: dict[str, Any], peer: Peer) -> Any:
        seen["failing"] = priority.busy
        raise RuntimeError("boom")

    methods = {
        "query": Method(query, mutating=False, summary=""),
        "change": Method(change, mutating=True, summary=""),
        "failing": Method(failing, mutating=False, summary=""),
    }
    server = SocketServer(
        Path("/nonexistent.sock"), methods, AdminPolicy.build((), (), ""), priority=priority
    )
    for method in ("query", "change", "failing"):
        line = await server.handle_line(f'{{"jsonrpc":"2.0","id":1,"method":"{method}"}}'.encode(), ROOT)
        assert b'"id":1' in line
    assert seen == {"query": 1, "change": 0, "failing": 1}
    assert priority.busy == 0  # ended after a failure too


@contextmanager
def _service(tmp_path: Path) -> Iterator[tuple[DaemonService, EventLog, ProjectionStore]]:
    config = with_overrides(DaemonConfig(), chain={"network": "devnet"}, store={"data_dir": str(tmp_path)})
    with (
        EventLog(parse_store_url(str(tmp_path / "events.db"))) as log,
        ProjectionStore(parse_store_url(str(tmp_path / "projections.db"))) as projections,
    ):
        service = DaemonService(config, log, projections, None, AdminPolicy.build((), (), ""))
        service.priority.max_pause_s = LONG
        service.projector = Projector(log, projections, TEST_SLOTS, batch_size=4)
        try:
            yield service, log, projections
        finally:
            service.close_threads()


def _checkpoints(count: int) -> list[Any]:
    return [ChainCursorCheckpointed(point=ChainPoint(slot, f"{slot:064x}")) for slot in range(1, count + 1)]


async def test_the_projections_job_waits_between_batches_while_a_query_is_answered(tmp_path: Path) -> None:
    with _service(tmp_path) as (service, log, projections):
        log.append([make_schedule(0), *_checkpoints(11)])  # 12 events: three batches of 4
        service.priority.begin()  # a query being answered
        job = asyncio.ensure_future(service.acatch_up(background=True))
        await asyncio.to_thread(until, lambda: service.priority.waiting == 1, "the catch-up waits")
        assert projections.position() == 4  # the first batch, whole; nothing more while the query runs
        assert not job.done()
        service.priority.end()
        assert await job == 12
        assert projections.position() == 12
        assert service.priority.pauses >= 1


async def test_a_querys_own_fold_is_not_held_by_the_background_fold_waiting_for_it(tmp_path: Path) -> None:
    """The projections job folds the log in the background and pauses for queries; a query that folds
    too (`schedules`) must not wait out that pause, which lasts as long as the query itself (here
    `LONG`): the background fold pauses without holding the fold lock."""
    with _service(tmp_path) as (service, log, _projections):
        log.append([make_schedule(0), *_checkpoints(600)])  # more than one background batch
        with service.priority.answering():  # the query
            job = asyncio.ensure_future(service.afold(background=True))
            await asyncio.to_thread(until, lambda: service.priority.waiting == 1, "the job pauses")
            # the query's own fold, done while the job still waits (the bound turns a hang into a failure)
            await asyncio.wait_for(service.afold(), 60)
            assert service.index.position == log.head().position
            assert not job.done()
        await job
        assert service.index.position == log.head().position


async def test_a_querys_own_catch_up_never_waits_for_the_query(tmp_path: Path) -> None:
    """A query brings the projections forward itself (`catch_up_for_query`) while it is being answered:
    a pause there would wait for itself. It applies its batches without one."""
    with _service(tmp_path) as (service, log, _projections):
        log.append([make_schedule(0), *_checkpoints(11)])
        with service.priority.answering():
            assert await service.read(service.catch_up, False, 2) == 8
            assert await service.acatch_up() == 4
        assert service.priority.pauses == 0


async def test_worker_threads_are_started_before_the_socket_opens(tmp_path: Path) -> None:
    """Started by the pool at the first reads otherwise: in the first burst of queries, each start
    waiting on the loop for the new thread to get the interpreter lock."""

    def readers() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("milestoned-store-read")]

    with _service(tmp_path) as (service, _log, _projections):
        before = len(readers())
        await start_worker_threads(service, READER_THREADS)
        assert len(readers()) - before == READER_THREADS
        assert any(t.name.startswith("milestoned-store-write") for t in threading.enumerate())
