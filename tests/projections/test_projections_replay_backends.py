"""An auditor may replay a log into either backend: the projections are the same bytes on both."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from milestoned.eventlog.config import PostgresConfig
from milestoned.eventlog.store import EventLog
from milestoned.eventlog.testing import TEST_SLOTS, StoreHarness, synthetic_log
from milestoned.projections.replay import replay
from milestoned.projections.store import ProjectionStore


@pytest.mark.postgres
def test_replays_on_sqlite_and_postgres_are_byte_identical(
    postgres_server: PostgresConfig, tmp_path: Path
) -> None:
    sqlite = StoreHarness("sqlite", str(tmp_path), "unused")
    postgres = StoreHarness("postgres", "", f"t_{uuid.uuid4().hex[:12]}", server=postgres_server)
    try:
        with EventLog(sqlite.config("log")) as log:
            for batch in synthetic_log(2000, seed=3):
                log.append(batch)
            with (
                ProjectionStore(sqlite.config("p")) as on_sqlite,
                ProjectionStore(postgres.config("p")) as on_pg,
            ):
                replay(log, on_sqlite, TEST_SLOTS)
                replay(log, on_pg, TEST_SLOTS)
                assert on_sqlite.dump() == on_pg.dump()
                assert on_sqlite.claimable() == on_pg.claimable()
                assert len(on_sqlite.claimable()) > 100
    finally:
        postgres.cleanup()
