"""The devnet runs scripts off its event loop (issue 18.2): while one client's transaction is being
evaluated (`evaluateTransaction` or `submitTransaction`), every other client is answered.

The evaluator is wrapped so that it holds the worker thread until another client's answer has arrived:
if evaluation ran on the event loop, that answer could never arrive while the evaluator waits, and the
order of events would show it. Nothing here measures time.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import websockets
from devnet_support import ALICE, ALWAYS_SUCCEEDS, OgmiosProbe, funds_of, lock, script_address
from pycardano import PlutusData
from test_devnet_evaluation import spend_script_output

from milestoned.devnet.service import Devnet

GIVE_UP_S = 30.0
"""How long the held evaluator waits for the other client before letting go (only reached on failure)."""


@pytest.mark.parametrize("method", ["evaluateTransaction", "submitTransaction"])
async def test_other_clients_are_answered_while_a_transaction_is_evaluated(
    probe: OgmiosProbe, devnet: Devnet, method: str
) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    tx = spend_script_output(locked, funds_of(devnet, ALICE)[0])
    events: list[str] = []
    evaluating = threading.Event()
    other_answered = threading.Event()
    real = devnet.chain.evaluator
    assert real is not None

    def held(decoded: Any, utxos: Any) -> Any:
        events.append("evaluation started")
        evaluating.set()
        other_answered.wait(GIVE_UP_S)
        events.append("evaluation finished")
        return real(decoded, utxos)

    devnet.chain.evaluator = held
    async with websockets.connect(devnet.url, max_size=None) as connection:
        other = OgmiosProbe(connection)
        request_id = await probe.send(method, {"transaction": {"cbor": tx.to_cbor_hex()}})
        while not evaluating.is_set():
            await asyncio.sleep(0.01)
        tip = await other.result("queryNetwork/tip")
        events.append("other client answered")
        other_answered.set()
        answer = await probe.receive(method, request_id)
    assert events == ["evaluation started", "other client answered", "evaluation finished"]
    assert tip is not None
    if method == "evaluateTransaction":
        assert answer["result"][0]["validator"] == {"purpose": "spend", "index": 0}
    else:  # evaluated ahead, then judged by the ledger's rules with those runs
        assert "result" in answer or answer["error"]["code"] != 3997
