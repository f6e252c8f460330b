"""Fixtures of the devnet tests (helpers live in devnet_support.py, beside this file)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

sys.path.insert(0, str(Path(__file__).parent))

from devnet_support import ALICE, OgmiosProbe, SchemaValidator, schema

from milestoned.devnet.service import Devnet, run_devnet


@pytest.fixture(scope="session")
def ogmios_schema() -> SchemaValidator:
    return schema()


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    """A devnet with a frozen clock: slots and blocks move only when the test says so."""
    async with run_devnet(port=0, clock=False, funds={str(ALICE.address): 1_000_000_000_000}) as running:
        yield running


@pytest.fixture
async def probe(devnet: Devnet) -> AsyncIterator[OgmiosProbe]:
    async with websockets.connect(devnet.url, max_size=None) as connection:
        yield OgmiosProbe(connection)
