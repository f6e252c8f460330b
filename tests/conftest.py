"""Shared fixtures: every store test runs on SQLite and on PostgreSQL (the `store` fixture).

The PostgreSQL variant is marked `postgres`. When no server answers (127.0.0.1:5432, user postgres,
database test; or env MILESTONED_TEST_POSTGRES_URL) it is skipped with the reason, except under CI=true,
where a missing server is a failure: CI must run both. Each test gets its own schemas, dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from milestoned.eventlog.config import PostgresConfig
from milestoned.eventlog.testing import StoreHarness, postgres_for_tests, postgres_unreachable_reason

# the helpers every test folder shares (ci_rule) import by their module name
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ci_rule import requirement_missing

# Property tests run with a fixed seed and no example database, so a failure in CI reproduces on any
# machine and a green run stays green; `HYPOTHESIS_PROFILE=explore` searches fresh examples instead.
settings.register_profile("fixed", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C works in the processes the tests start, however the suite itself was started.

    A shell that runs a command in the background without job control (`make test &` in a script,
    `nohup ... &`) starts it with SIGINT ignored; every child inherits that, and a Python child then
    never raises KeyboardInterrupt. The tests that press Ctrl-C on a `milestonectl` client (it must
    detach from its job) would wait for a client that cannot hear it. So an ignored SIGINT is restored
    here, in this process, and with it in every child it starts.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def postgres_server() -> PostgresConfig:
    """The PostgreSQL server for tests; skips (or under CI=true fails) when none answers."""
    server = postgres_for_tests()
    reason = postgres_unreachable_reason(server)
    if reason is not None:
        requirement_missing("PostgreSQL", reason)
    return server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreHarness]:
    backend = request.param
    server = request.getfixturevalue("postgres_server") if backend == "postgres" else postgres_for_tests()
    harness = StoreHarness(
        backend=backend,
        directory=str(tmp_path_factory.mktemp("store")),
        prefix=f"t_{uuid.uuid4().hex[:12]}",
        server=server,
    )
    yield harness
    harness.cleanup()
