"""The web view under load: a 10,000-allocation schedule's pages, 20 concurrent readers, while indexing.

What runs: the daemon's own pieces, not a mock: a real event log and projection store (SQLite, in a
temporary folder), the `DaemonService` the socket uses, the projector, and the web view's `WebServer`
on the daemon's HTTP listener, all on one asyncio loop as in `milestoned run`. The log holds one schedule
of 10,000 allocations (400 beneficiaries, 3 milestones, M1 and M2 signed by a quorum of real oracle
signatures), written as the events the indexer records, straight into the log: building that schedule
on the devnet through the real scripts would take the better part of an hour (bench/chain_fixture.py
builds 10 x 100), and the web view only ever reads the log's projections. While the readers run, an
"indexer" task appends a block every 0.25 s (releases of 5 allocations and a checkpoint) and the
projections job catches up every 0.5 s, as the scheduler does: every page's snapshot keeps changing.

Readers: 20 threads in another process (so their parsing does not share the server's interpreter),
each requesting, in a loop, a schedule page (a random page of the allocations table, or a search for a
beneficiary) and a beneficiary page, over fresh connections like browsers without keep-alive.

- `web.page_p99_ms`: 99th percentile of those page times (target < 50 ms);
- `web.page_idle_p99_ms`: the same pages read before the indexing starts (no snapshot rebuilt);
- `web.floor_p99_ms`: the same readers fetching the static style sheet (no page computed) in the same
  run, while indexing: what the listener, the loop and the readers cost before any page is built;
- `web.page_kb`: the size of the schedule page (first page of the allocations, target < 100 KB);
- `web.snapshot_build_ms`: one snapshot of the 10,000-allocation log, built in the worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http.client
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ALLOCATIONS = 10_000
BENEFICIARIES = 400
CLIENTS = 20
MEASURE_S = 8.0
WARMUP_S = 2.0
TARGET_P99_MS = 50.0
TARGET_KB = 100.0


@functools.cache
def _address(index: int) -> str:
    from pycardano import Address, Network, VerificationKeyHash

    digest = hashlib.blake2b(f"bench-web-beneficiary-{index}".encode(), digest_size=28).digest()
    return str(Address(VerificationKeyHash(digest), network=Network.TESTNET))


def _events() -> tuple[list[list[Any]], str, list[str]]:
    """Batches for the log: the schedule, its oracle signatures, its locks in blocks of 500."""
    from milestoned.eventlog.events import AllocationLocked, ChainPoint, ScheduleRegistered
    from milestoned.eventlog.testing import TEST_SLOTS, make_schedule, oracle_signature

    base = make_schedule(0)
    milestones = ["M1", "M2", "M3"]
    definition = {
        "network": "devnet",
        "admin": base.policy.admin_key_hash,
        "beneficiary_allocations": [
            {"beneficiary_address": _address(i % BENEFICIARIES), "milestone_identifier": milestones[i % 3]}
            for i in range(ALLOCATIONS)
        ],
    }
    schedule = ScheduleRegistered(schedule_id=base.schedule_id, definition=definition, policy=base.policy)
    batches: list[list[Any]] = [[schedule]]
    batches.append([oracle_signature(0, k, m.encode().hex()) for m in milestones[:2] for k in range(2)])
    refs = []
    for block in range(ALLOCATIONS // 500):
        slot = 10 + block
        point = ChainPoint(slot, hashlib.blake2b(f"block-{slot}".encode(), digest_size=32).hexdigest())
        tx = hashlib.blake2b(f"tx-{block}".encode(), digest_size=32).hexdigest()
        batch = []
        for j in range(500):
            i = block * 500 + j
            refs.append(f"{tx}#{j}")
            batch.append(
                AllocationLocked(
                    point=point,
                    tx_id=tx,
                    schedule_id=base.schedule_id,
                    out_ref=f"{tx}#{j}",
                    beneficiary=_address(i % BENEFICIARIES),
                    amount=1_000 + i,
                    milestone_id=milestones[i % 3].encode().hex(),
                    vesting_time_ms=TEST_SLOTS.slot_to_posix_ms(100 + (i * 37) % 5_000),
                )
            )
        batches.append(batch)
    return batches, base.schedule_id, refs


def _reader(port: int, paths: list[str], seconds: float, seed: int, out: Any) -> None:
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    times: list[float] = []
    sizes: list[int] = []
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        if time.monotonic() > deadline - seconds + WARMUP_S:
            times.append(elapsed)
            sizes.append(len(body))
    out.put((times, sizes))


def _readers(port: int, paths: list[str], result: Any) -> None:
    """In a process of its own: CLIENTS threads reading `paths` for WARMUP_S + MEASURE_S."""
    import queue

    q: queue.Queue[Any] = queue.Queue()
    threads = [
        threading.Thread(target=_reader, args=(port, paths, WARMUP_S + MEASURE_S, seed, q))
        for seed in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times: list[float] = []
    for _ in threads:
        got, _sizes = q.get()
        times.extend(got)
    result.put(times)


def _p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


async def _measure(folder: Path) -> dict[str, float]:
    from milestoned.daemon.peercred import AdminPolicy
    from milestoned.daemon.service import DaemonService
    from milestoned.eventlog import EventLog, parse_store_url
    from milestoned.eventlog.events import AllocationReleased, ChainCursorCheckpointed, ChainPoint
    from milestoned.eventlog.testing import TEST_SLOTS
    from milestoned.projections.projector import Projector
    from milestoned.projections.store import ProjectionStore
    from milestoned.shared.config import DaemonConfig, with_overrides
    from milestoned.web.server import WebServer

    batches, schedule_id, refs = _events()
    config = with_overrides(DaemonConfig(), chain={"network": "devnet"}, store={"data_dir": str(folder)})
    with (
        EventLog(parse_store_url(str(folder / "events.db"))) as event_log,
        ProjectionStore(parse_store_url(str(folder / "projections.db"))) as projections,
    ):
        for batch in batches:
            event_log.append(batch)
        service = DaemonService(config, event_log, projections, None, AdminPolicy.build((), (), ""))
        service.projector = Projector(event_log, projections, TEST_SLOTS, batch_size=5000)
        service.fold()
        service.catch_up()
        web = WebServer(service, "127.0.0.1", 0, verify=False)
        await web.start()
        port = web.listener.bound_port
        started = time.perf_counter()
        first = web.source.snapshot()
        build_ms = (time.perf_counter() - started) * 1000
        assert len(first.index.allocations) == ALLOCATIONS, len(first.index.allocations)
        page_kb = len(web.routes.handle(_get(f"/schedules/{schedule_id}")).body) / 1024

        stop = asyncio.Event()

        async def indexer() -> None:
            slot, next_ref = 1_000, 0
            while not stop.is_set():
                slot += 1
                point = ChainPoint(slot, hashlib.blake2b(f"b{slot}".encode(), digest_size=32).hexdigest())
                tx = hashlib.blake2b(f"r{slot}".encode(), digest_size=32).hexdigest()
                batch: list[Any] = [
                    AllocationReleased(point=point, tx_id=tx, schedule_id=schedule_id, out_ref=ref)
                    for ref in refs[next_ref : next_ref + 5]
                ]
                next_ref += 5
                async with service.write_lock:
                    event_log.append([*batch, ChainCursorCheckpointed(point=point)])
                await asyncio.sleep(0.25)

        async def projections_job() -> None:
            while not stop.is_set():
                service.fold()
                service.catch_up()
                await asyncio.sleep(0.5)

        async def run_readers(paths: list[str]) -> list[float]:
            ctx = multiprocessing.get_context("spawn")
            result = ctx.Queue()
            process = ctx.Process(target=_readers, args=(port, paths, result))
            process.start()
            times: list[float] = await asyncio.to_thread(result.get)
            await asyncio.to_thread(process.join)
            return times

        rng = random.Random(7)
        pages = [f"/schedules/{schedule_id}?page={rng.randint(1, ALLOCATIONS // 50)}" for _ in range(40)]
        pages += [
            f"/schedules/{schedule_id}?q={_address(rng.randrange(BENEFICIARIES))[-16:]}" for _ in range(10)
        ]
        pages += [f"/beneficiaries/{_address(rng.randrange(BENEFICIARIES))}" for _ in range(50)]
        idle_times = await run_readers(pages)  # the same pages while nothing changes: rendering alone
        jobs = [asyncio.create_task(indexer()), asyncio.create_task(projections_job())]
        page_times = await run_readers(pages)
        floor_times = await run_readers(["/static/web.css"])
        stop.set()
        await asyncio.gather(*jobs)
        moved = service.log.head().position
        await web.stop()
    return {
        "web.page_p99_ms": _p99(page_times),
        "web.page_median_ms": statistics.median(page_times),
        "web.floor_p99_ms": _p99(floor_times),
        "web.page_idle_p99_ms": _p99(idle_times),
        "web.page_kb": page_kb,
        "web.snapshot_build_ms": build_ms,
        "web.pages_read": float(len(page_times)),
        "web.log_events_during": float(moved - sum(len(b) for b in batches)),
    }


def _get(target: str) -> Any:
    from milestoned.daemon.http_endpoint import HttpRequest

    path, _, query = target.partition("?")
    return HttpRequest("GET", target, path, query, {})


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        figures = asyncio.run(_measure(Path(folder)))
    print(
        f"web pages (10,000-allocation schedule, {CLIENTS} readers, indexing): p99 "
        f"{figures['web.page_p99_ms']:.1f} ms, median {figures['web.page_median_ms']:.1f} ms "
        f"(target p99 < {TARGET_P99_MS:.0f} ms; {figures['web.pages_read']:.0f} pages read while the log "
        "grew by "
        f"{figures['web.log_events_during']:.0f} events)"
    )
    print(f"floor, the static style sheet, same readers: p99 {figures['web.floor_p99_ms']:.1f} ms")
    print(f"the same pages while the log stands still: p99 {figures['web.page_idle_p99_ms']:.1f} ms")
    print(f"schedule page: {figures['web.page_kb']:.1f} KB (target < {TARGET_KB:.0f} KB)")
    print(
        f"snapshot of the 10,000-allocation log: {figures['web.snapshot_build_ms']:.0f} ms (in the worker "
        "thread)"
    )
    return {
        key: figures[key]
        for key in (
            "web.page_p99_ms",
            "web.page_idle_p99_ms",
            "web.floor_p99_ms",
            "web.page_kb",
            "web.snapshot_build_ms",
        )
    }


if __name__ == "__main__":
    run()
