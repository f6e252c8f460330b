"""A small simulated chain that produces realistic event streams, for tests, the kill -9 drill and benches.

It models just enough of the contract for the projections to have something true to say: schedules with
real ed25519 oracle keys (signatures verify), allocations locked in blocks, released or reclaimed later,
and forks that roll blocks back. The simulator also knows the final chain, so a test can compare the
live projection with the projection of "what survived" alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milestoned.domain.attestation import sign_attestation
from milestoned.domain.parameters import ScheduleParameters
from milestoned.eventlog.config import PostgresConfig, SQLiteConfig, StoreConfig, parse_store_url
from milestoned.eventlog.events import (
    AllocationLocked,
    AllocationReclaimed,
    AllocationReleased,
    ChainCursorCheckpointed,
    ChainEvent,
    ChainPoint,
    Event,
    OracleSignatureCommitted,
    RolledBack,
    SchedulePolicy,
    ScheduleRegistered,
)
from milestoned.projections.slots import SlotConfig

TEST_SLOTS = SlotConfig(zero_time_ms=1_700_000_000_000, zero_slot=0, slot_length_ms=1000)
MILESTONES = ("01", "02", "03")
BENEFICIARIES = tuple(f"addr_test1q{'b' * 10}{index}" for index in range(4))


def _hex(*parts: object, size: int = 32) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[: size * 2]


def oracle_seed(schedule: int, oracle: int) -> bytes:
    return hashlib.sha256(f"oracle/{schedule}/{oracle}".encode()).digest()


def make_schedule(index: int, oracles: int = 3, quorum: int = 2) -> ScheduleRegistered:
    """A schedule whose oracle keys derive from `oracle_seed(index, i)`."""
    from nacl.signing import SigningKey

    keys = tuple(bytes(SigningKey(oracle_seed(index, i)).verify_key) for i in range(oracles))
    parameters = ScheduleParameters(
        admin_key_hash=bytes.fromhex(_hex("admin", index, size=28)),
        token_policy_id=bytes.fromhex(_hex("token", index, size=28)),
        token_name=b"MILE",
        oracle_keys=keys,
        quorum=quorum,
        reclaim_deadline_ms=TEST_SLOTS.slot_to_posix_ms(10_000_000),
        nonce=index.to_bytes(4, "big"),
    )
    schedule_id = _hex("schedule", index, size=28)
    definition = {"name": f"schedule {index}", "milestones": list(MILESTONES), "version": 1}
    return ScheduleRegistered(
        schedule_id=schedule_id, definition=definition, policy=SchedulePolicy.from_parameters(parameters)
    )


def oracle_signature(schedule_index: int, oracle: int, milestone_id: str, *, valid: bool = True) -> Event:
    schedule_id = _hex("schedule", schedule_index, size=28)
    signed = sign_attestation(
        oracle_seed(schedule_index, oracle), bytes.fromhex(schedule_id), bytes.fromhex(milestone_id)
    )
    signature = signed.signature if valid else bytes(64)
    return OracleSignatureCommitted(
        schedule_id=schedule_id,
        milestone_id=milestone_id,
        oracle_key=signed.oracle_key.hex(),
        signature=signature.hex(),
    )


@dataclass
class Block:
    point: ChainPoint
    events: list[Event]


@dataclass
class ChainSimulator:
    """Blocks on a simulated chain; `rollback` forks, `final_events` is what the surviving chain says."""

    schedules: int = 2
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    chain: list[Block] = field(default_factory=list)
    forks: int = 0
    counter: int = 0

    @property
    def tip_slot(self) -> int:
        return self.chain[-1].point.slot if self.chain else 0

    _open: dict[str, AllocationLocked] | None = None  # cache of open allocations; None after a fork

    def open_allocations(self) -> list[AllocationLocked]:
        if self._open is None:
            self._open = {}
            for block in self.chain:
                self._track(block.events)
        return list(self._open.values())

    def _track(self, events: Iterable[Event]) -> None:
        assert self._open is not None
        for event in events:
            if isinstance(event, AllocationLocked):
                self._open[event.out_ref] = event
            elif isinstance(event, AllocationReleased | AllocationReclaimed):
                self._open.pop(event.out_ref, None)

    def next_block(self, max_locks: int = 3, max_exits: int = 2) -> list[Event]:
        """A new block's events, ending with the cursor checkpoint (append them as one batch)."""
        slot = self.tip_slot + self.rng.randint(1, 20)
        point = ChainPoint(slot=slot, header_hash=_hex("block", slot, self.forks))
        events: list[Event] = []
        for _ in range(self.rng.randint(0, max_locks)):
            self.counter += 1
            tx_id = _hex("tx", self.counter, self.forks)
            schedule = self.rng.randrange(self.schedules)
            events.append(
                AllocationLocked(
                    point=point,
                    tx_id=tx_id,
                    schedule_id=_hex("schedule", schedule, size=28),
                    out_ref=f"{tx_id}#{self.rng.randint(0, 3)}",
                    beneficiary=self.rng.choice(BENEFICIARIES),
                    amount=self.rng.choice((1, 1_000, 2**63 + 5, 2**64 - 1)),
                    milestone_id=self.rng.choice(MILESTONES),
                    vesting_time_ms=TEST_SLOTS.slot_to_posix_ms(slot + self.rng.randint(-5, 60)),
                )
            )
        candidates = self.open_allocations()
        exits = self.rng.sample(candidates, k=min(self.rng.randint(0, max_exits), len(candidates)))
        for allocation in exits:
            self.counter += 1
            kind = AllocationReleased if self.rng.random() < 0.7 else AllocationReclaimed
            events.append(
                kind(
                    point=point,
                    tx_id=_hex("tx", self.counter, self.forks),
                    schedule_id=allocation.schedule_id,
                    out_ref=allocation.out_ref,
                )
            )
        events.append(ChainCursorCheckpointed(point=point))
        self.chain.append(Block(point=point, events=events))
        self._track(events)
        return events

    @classmethod
    def resume(
        cls, events: Iterable[Event], *, schedules: int = 2, rng: random.Random | None = None
    ) -> ChainSimulator:
        """Rebuild the simulated chain from a log's events (after a restart), to continue it."""
        simulator = cls(schedules=schedules, rng=rng or random.Random(0))
        count = 0
        for event in events:
            count += 1
            if isinstance(event, RolledBack):
                simulator.forks += 1
                simulator.chain = [b for b in simulator.chain if b.point.slot <= event.point.slot]
            elif isinstance(event, ChainEvent):
                if not simulator.chain or simulator.chain[-1].point != event.point:
                    simulator.chain.append(Block(point=event.point, events=[]))
                simulator.chain[-1].events.append(event)
        simulator.counter = count  # every later transaction id is new
        simulator._open = None
        simulator.forks += 1
        return simulator

    def rollback(self, depth: int) -> RolledBack:
        """Drop the newest `depth` blocks (all of them, back to the origin, if depth >= length)."""
        self.forks += 1
        keep = max(len(self.chain) - depth, 0)
        del self.chain[keep:]
        self._open = None
        point = self.chain[-1].point if self.chain else ChainPoint.origin()
        return RolledBack(point=point)


def surviving_events(events: Iterable[Event]) -> list[Event]:
    """What the final chain alone says: chain events undone by later rollbacks are dropped.

    A rollback to a point means the block at that point is on the final chain, so it is kept as a cursor
    checkpoint (the indexer following the final chain would have seen it); local events all survive.
    """
    result: list[Event] = []
    for event in events:
        if isinstance(event, RolledBack):
            slot = event.point.slot
            result = [e for e in result if not (isinstance(e, ChainEvent) and e.point.slot > slot)]
            if not event.point.is_origin:
                result.append(ChainCursorCheckpointed(point=event.point))
        else:
            result.append(event)
    return result


def synthetic_log(total_events: int, *, seed: int = 1, schedules: int = 4) -> list[list[Event]]:
    """Batches (one per block or command) adding up to at least `total_events` events, for benchmarks."""
    simulator = ChainSimulator(schedules=schedules, rng=random.Random(seed))
    batches: list[list[Event]] = [[make_schedule(i) for i in range(schedules)]]
    count = schedules
    rng = random.Random(seed + 1)
    while count < total_events:
        if rng.random() < 0.05:
            schedule = rng.randrange(schedules)
            batch = [oracle_signature(schedule, oracle, rng.choice(MILESTONES)) for oracle in range(2)]
        elif rng.random() < 0.01 and len(simulator.chain) > 3:
            batch = [simulator.rollback(rng.randint(1, 3))]
        else:
            batch = simulator.next_block(max_locks=8, max_exits=4)
        batches.append(batch)
        count += len(batch)
    return batches


# --- store harness for tests and benches (real databases, fresh per use) --------------------------------


TEST_POSTGRES_URL_ENV = "MILESTONED_TEST_POSTGRES_URL"
DEFAULT_TEST_POSTGRES = PostgresConfig(host="127.0.0.1", port=5432, user="postgres", dbname="test")


def postgres_for_tests() -> PostgresConfig:
    """The server for tests and benches: env MILESTONED_TEST_POSTGRES_URL, else postgres@127.0.0.1/test."""
    import os

    url = os.environ.get(TEST_POSTGRES_URL_ENV)
    if not url:
        return DEFAULT_TEST_POSTGRES
    config = parse_store_url(url)
    if not isinstance(config, PostgresConfig):
        raise ValueError(f"{TEST_POSTGRES_URL_ENV} must be a postgresql:// URL, got {url!r}")
    return config


def postgres_unreachable_reason(server: PostgresConfig | None = None) -> str | None:
    """None when the PostgreSQL server answers, else why not (for skip and fail messages)."""
    import psycopg

    server = server or postgres_for_tests()
    try:
        with psycopg.connect(**server.conninfo()) as conn:  # type: ignore[arg-type]
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"no PostgreSQL answers at {server.describe()}: {first_line}"
    return None


@dataclass
class StoreHarness:
    """Makes fresh store configs on one backend, runs raw SQL against them, and cleans up afterwards."""

    backend: str  # "sqlite" or "postgres"
    directory: str  # where SQLite files go
    prefix: str  # unique per test: PostgreSQL schemas are named f"{prefix}_{name}"
    server: PostgresConfig = DEFAULT_TEST_POSTGRES
    made: list[StoreConfig] = field(default_factory=list)

    def config(self, name: str) -> StoreConfig:
        cfg: StoreConfig
        if self.backend == "sqlite":
            cfg = SQLiteConfig(path=Path(self.directory) / f"{name}.db")
        else:
            cfg = dataclasses.replace(self.server, schema=f"{self.prefix}_{name}")
        self.made.append(cfg)
        return cfg

    def execute(
        self, cfg: StoreConfig, statement: str, params: tuple[object, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """Run one statement directly on the database (tests use it to tamper, as an attacker would)."""
        if isinstance(cfg, SQLiteConfig):
            import sqlite3

            conn = sqlite3.connect(cfg.path, timeout=30)
            try:
                rows = conn.execute(statement, params).fetchall()
                conn.commit()
            finally:
                conn.close()
            return [tuple(r) for r in rows]
        assert isinstance(cfg, PostgresConfig)
        import psycopg

        with psycopg.connect(**cfg.conninfo(), autocommit=True) as pg_conn:  # type: ignore[arg-type]
            pg_conn.execute(f"SET search_path TO {cfg.schema}")
            cursor = pg_conn.execute(statement.replace("?", "%s"), params)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def cleanup(self) -> None:
        schemas = [cfg.schema for cfg in self.made if isinstance(cfg, PostgresConfig)]
        if not schemas:
            return
        import psycopg

        with psycopg.connect(**self.server.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
