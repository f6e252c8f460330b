"""Fixtures of the indexer tests; the helpers live beside this file (indexer_support, devnet_chain, …).

`store_config` gives each test a fresh event-log store on SQLite and on PostgreSQL (marked `postgres`;
skipped when no server answers, except under CI=true where that is a failure), like the eventlog tests.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from milestoned.eventlog.config import StoreConfig
from milestoned.eventlog.testing import StoreHarness, postgres_for_tests


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_config(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreConfig]:
    # the root conftest's `postgres_server` skips, or under CI=true fails, when no server answers
    server = (
        request.getfixturevalue("postgres_server") if request.param == "postgres" else postgres_for_tests()
    )
    harness = StoreHarness(
        backend=request.param,
        directory=str(tmp_path_factory.mktemp("store")),
        prefix=f"ix_{uuid.uuid4().hex[:12]}",
        server=server,
    )
    yield harness.config("log")
    harness.cleanup()
