"""Every store test runs on SQLite and on PostgreSQL (`store` fixture, parametrised by backend).

The PostgreSQL variant is marked `postgres`. When no server answers on 127.0.0.1:5432 it is skipped with
the reason, except under CI=true, where a missing server is a failure: CI must run both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from milestoned.eventlog.testing import StoreHarness, postgres_unreachable_reason


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreHarness]:
    backend = request.param
    if backend == "postgres":
        reason = postgres_unreachable_reason()
        if reason is not None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI=true requires PostgreSQL: {reason}")
            pytest.skip(reason)
    harness = StoreHarness(
        backend=backend,
        directory=str(tmp_path_factory.mktemp("store")),
        prefix=f"t_{uuid.uuid4().hex[:12]}",
    )
    yield harness
    harness.cleanup()
