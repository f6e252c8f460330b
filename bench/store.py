"""Event log and projection figures: append throughput on SQLite and PostgreSQL, rebuild time.

- `store.<backend>.append_per_s.batch1` / `.batch100`: events appended per second through `EventLog.append`
  (canonical encoding, hash chain, one transaction per batch), next to the floor: the library recorder
  inserting the same pre-encoded records without our encoding and hashing.
- `projections.rebuild_100k_s`: seconds to replay 100,000 logged events into fresh SQLite projections
  (target: under 10 s). The events are a simulated chain: blocks of allocation locks, releases,
  reclaims and cursor checkpoints, oracle signatures (verified while projecting), and forks.

PostgreSQL figures need a server on 127.0.0.1:5432 (user postgres, database test); without one they
are reported as missing, not invented.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import uuid
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, StoreConfig
from milestoned.eventlog.events import Event
from milestoned.eventlog.hashchain import LogHead, seal_batch
from milestoned.eventlog.store import LOG_STREAM_ID, EventLog
from milestoned.eventlog.testing import (
    TEST_SLOTS,
    StoreHarness,
    postgres_for_tests,
    postgres_unreachable_reason,
    synthetic_log,
)
from milestoned.projections.replay import replay
from milestoned.projections.store import ProjectionStore

REBUILD_EVENTS = 100_000
REBUILD_TARGET_S = 10.0
APPEND_EVENTS = {1: 2_000, 100: 30_000}


def _batches(total: int, size: int) -> list[list[Event]]:
    flat = [event for batch in synthetic_log(total, seed=7) for event in batch][:total]
    return [flat[i : i + size] for i in range(0, len(flat), size)]


def append_rate(config: StoreConfig, batch_size: int) -> tuple[float, float]:
    """(events/s through EventLog.append, events/s of the bare recorder floor) on fresh stores."""
    batches = _batches(APPEND_EVENTS[batch_size], batch_size)
    count = sum(len(b) for b in batches)
    with EventLog(config) as log:
        started = time.perf_counter()
        for batch in batches:
            log.append(batch)
        ours = count / (time.perf_counter() - started)
    floor_config = (
        SQLiteConfig(config.path.with_name(config.path.stem + "-floor.db"))
        if isinstance(config, SQLiteConfig)
        else dataclasses.replace(config, schema=config.schema + "_floor")
    )
    with EventLog(floor_config) as floor_log:
        head = LogHead.empty()
        prepared = []
        for batch in batches:
            records = seal_batch(batch, head)
            head = LogHead(records[-1].position, records[-1].hash)
            prepared.append([StoredEvent(LOG_STREAM_ID, r.position, r.topic, r.state) for r in records])
        started = time.perf_counter()
        for stored in prepared:
            floor_log.recorder.insert_events(stored)
        floor = count / (time.perf_counter() - started)
    return ours, floor


def rebuild_seconds(directory: Path) -> float:
    with EventLog(SQLiteConfig(directory / "rebuild-log.db")) as log:
        pending: list[Event] = []
        for batch in synthetic_log(REBUILD_EVENTS, seed=11):
            pending += batch
            if len(pending) >= 1000:
                log.append(pending)
                pending = []
        log.append(pending)
        total = log.head().position
        with ProjectionStore(SQLiteConfig(directory / "rebuild-projections.db")) as target:
            started = time.perf_counter()
            report = replay(log, target, TEST_SLOTS)
            elapsed = time.perf_counter() - started
    assert report.events_replayed == total
    print(f"  rebuild: {total} events replayed in {elapsed:.2f} s (target < {REBUILD_TARGET_S:.0f} s)")
    return elapsed * REBUILD_EVENTS / total


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="milestoned-bench-") as tmp:
        directory = Path(tmp)
        for batch_size in (1, 100):
            ours, floor = append_rate(SQLiteConfig(directory / f"append-{batch_size}.db"), batch_size)
            figures[f"store.sqlite.append_per_s.batch{batch_size}"] = ours
            print(
                f"  sqlite   batch {batch_size:>3}: {ours:>9.0f} events/s "
                f"(floor, bare recorder: {floor:.0f}/s, ratio {ours / floor:.2f})"
            )
        reason = postgres_unreachable_reason()
        if reason is None:
            harness = StoreHarness(
                "postgres", tmp, f"bench_{uuid.uuid4().hex[:8]}", server=postgres_for_tests()
            )
            try:
                for batch_size in (1, 100):
                    config = harness.config(f"append{batch_size}")
                    assert isinstance(config, PostgresConfig)
                    harness.made.append(dataclasses.replace(config, schema=config.schema + "_floor"))
                    ours, floor = append_rate(config, batch_size)
                    figures[f"store.postgres.append_per_s.batch{batch_size}"] = ours
                    print(
                        f"  postgres batch {batch_size:>3}: {ours:>9.0f} events/s "
                        f"(floor, bare recorder: {floor:.0f}/s, ratio {ours / floor:.2f})"
                    )
            finally:
                harness.cleanup()
        else:
            print(f"  postgres: not measured ({reason})")
        figures["projections.rebuild_100k_s"] = rebuild_seconds(directory)
    return figures
