"""Fixtures of the interop suite: third-party clients (Node and Python) against a real devnet process.

The Node clients live in js/ (package.json + package-lock.json, installed by `make setup` with npm ci).
Outside CI a missing `node` or an uninstalled js/node_modules skips these tests with the reason; under
CI=true it fails them: CI must run them (issue 14, point 15).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "daemon"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from devnet_process import DevnetProcess, start_devnet  # noqa: E402
from interop_support import require_node  # noqa: E402


@pytest.fixture
def node() -> str:
    """The `node` executable, with the pinned packages installed (skips or, under CI, fails)."""
    return require_node()


@pytest.fixture(scope="session")
def devnet_process() -> Iterator[DevnetProcess]:
    """A devnet in its own process (`milestoned devnet`), 0.1-second slots, shared by the interop tests
    (each makes its own keys, so they do not see each other's outputs; starting one costs ~4 s)."""
    devnet = start_devnet(slot_length=0.1)
    try:
        yield devnet
    finally:
        devnet.stop()
        if devnet.process.stdout is not None:
            devnet.process.stdout.close()
