"""Parallel releases (issue 18.3): with several funding UTxOs, a release is cut into independent chains
of transactions that are built concurrently, their scripts evaluated in worker threads at the same time.

Concurrency is shown by order of events, not time: the first evaluation to start holds its worker
thread until a second one has started (or gives up after a while, which the assertions then catch).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from txbuilder_support import (
    ADMIN,
    ADMIN_ADDRESS,
    OPERATOR,
    OPERATOR_ADDRESS,
    large_schedule,
    oracle_signature,
    world,
)

from milestoned.contracts import evaluation
from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit_all

GIVE_UP_S = 30.0


async def test_two_funding_utxos_give_two_chains_built_and_evaluated_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world() as w:
        w.devnet.fund(OPERATOR_ADDRESS, 100_000_000)  # a second funding UTxO (the first: world's 500 ADA)
        definition = large_schedule(w.devnet, w.now_ms, 8)
        registration = await build_registration(w.chain, definition, ADMIN_ADDRESS)
        await w.submit_chain([sign(t, [ADMIN]) for t in registration.txs])
        w.advance_ms(31_000)
        schedule_id = registration.schedule_id
        signatures = {b"M1": [oracle_signature(i, schedule_id, "M1") for i in (2, 3)]}

        events: list[str] = []
        second_started = threading.Event()
        real = evaluation.evaluate_transaction

        def observed(*args: Any, **kwargs: Any) -> Any:
            first = not events
            events.append("start")
            if first:
                second_started.wait(GIVE_UP_S)
            else:
                second_started.set()
            result = real(*args, **kwargs)
            events.append("end")
            return result

        monkeypatch.setattr(evaluation, "evaluate_transaction", observed)
        plan = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS, first_batch=4, lanes=2)
        monkeypatch.undo()
        assert events[:2] == ["start", "start"]  # the second began while the first was held
        assert len(plan.txs) == 2 and all(len(t.details["allocations"]) == 4 for t in plan.txs)
        released = [a for t in plan.txs for a in t.details["allocations"]]
        assert len(set(released)) == 8
        first, second = plan.txs
        assert not set(first.spent) & set(second.spent)  # independent: each from its own funding UTxO
        assert not set(first.produced) & set(second.tx.transaction_body.inputs)
        await submit_all(w.chain, [sign(t, [OPERATOR]) for t in plan.txs])
        w.settle()
        assert not await locked_allocations(w.chain, schedule_id, registration.validator_address)


async def test_one_funding_utxo_keeps_one_chain() -> None:
    async with world() as w:
        definition = large_schedule(w.devnet, w.now_ms, 6)
        registration = await build_registration(w.chain, definition, ADMIN_ADDRESS)
        await w.submit_chain([sign(t, [ADMIN]) for t in registration.txs])
        w.advance_ms(31_000)
        signatures = {b"M1": [oracle_signature(i, registration.schedule_id, "M1") for i in (2, 3)]}
        plan = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS, first_batch=3, lanes=4)
        first, second = plan.txs
        change = len(first.tx.transaction_body.outputs) - 1
        assert any(
            i.transaction_id == first.tx_id and i.index == change for i in second.tx.transaction_body.inputs
        )
