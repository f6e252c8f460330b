"""The devnet's `evaluateTransaction` and the contract tests measure a release identically."""

from __future__ import annotations

import datetime

import pytest
import websockets
from devnet_support import OgmiosProbe

from milestoned.devnet import encode
from milestoned.devnet.service import run_devnet

scenarios = pytest.importorskip("milestoned.contracts.scenarios", reason="the foundation issue's scripts")


@pytest.mark.parametrize("allocations", [1, 3])
async def test_a_release_gets_the_contract_tests_execution_units(allocations: int) -> None:
    schedule = scenarios.Schedule()
    built = scenarios.batch_release(schedule, allocations)
    expected = built.evaluate()
    assert expected and all(e.ok for e in expected), [e.error for e in expected]
    slot_config = scenarios.SLOT_CONFIG
    start = datetime.datetime.fromtimestamp(slot_config.zero_time_ms / 1000, datetime.UTC)
    async with run_devnet(
        port=0, clock=False, start_time=start, slot_length=slot_config.slot_length_ms / 1000
    ) as devnet:
        assert devnet.network.start_time_ms == slot_config.zero_time_ms
        async with websockets.connect(devnet.url, max_size=None) as socket:
            budgets = await OgmiosProbe(socket).result(
                "evaluateTransaction",
                {
                    "transaction": {"cbor": built.tx.to_cbor_hex()},
                    "additionalUtxo": encode.utxo_set(built.utxos.items()),
                },
            )
    measured = {(b["validator"]["purpose"], b["validator"]["index"]): b["budget"] for b in budgets}
    assert measured == {(encode.PURPOSES[e.tag], e.index): {"memory": e.mem, "cpu": e.cpu} for e in expected}
