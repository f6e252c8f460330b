"""The work per transaction does not grow along a chain (issue 12: a 10,000-allocation schedule is ~300
chained registration transactions and ~200 release transactions; a cost that grows with the chain's
length makes the whole quadratic). Counted, not timed: whole-transaction encodings (pycardano
`Transaction.to_cbor` and `TransactionBody.to_cbor`: size and fee rounds, the transaction id) and script
evaluations, between one transaction built (`on_built`) and the next.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pycardano import Transaction, TransactionBody
from txbuilder_support import ADMIN, ADMIN_ADDRESS, OPERATOR_ADDRESS, large_schedule, oracle_signature, world

from milestoned.txbuilder import assembly
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign

ALLOCATIONS = 160
"""The deploy, then five registration transactions; M1's 100 released in three (batches of 40)."""


class PerTransaction:
    """Counts since the last transaction built, recorded at each `on_built`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[str] = Counter()
        self.per_tx: list[dict[str, int]] = []
        for cls, name in ((Transaction, "tx"), (TransactionBody, "body")):
            monkeypatch.setattr(cls, "to_cbor", self._counting(cls.to_cbor, f"{name} encodings"))
        monkeypatch.setattr(assembly, "measure_units", self._counting(assembly.measure_units, "evaluations"))

    def _counting(self, function: Any, what: str) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[what] += 1
            return function(*args, **kwargs)

        return counted

    def built(self, _tx: Any) -> None:
        self.per_tx.append(dict(self.counts))
        self.counts.clear()


async def test_encodings_and_evaluations_per_transaction_do_not_grow_along_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world() as w:
        definition = large_schedule(w.devnet, w.now_ms, ALLOCATIONS)
        counting = PerTransaction(monkeypatch)
        plan = await build_registration(w.chain, definition, ADMIN_ADDRESS, on_built=counting.built)
        registrations = [
            c for c, t in zip(counting.per_tx, plan.txs, strict=True) if t.kind == "registration"
        ]
        assert len(registrations) >= 4
        # after the first (which may try a batch too large and shrink it), every one does the same work,
        # the last as little as the second: nothing grows with the transactions before it
        steady = registrations[1:-1]  # the last is a remainder, smaller
        assert all(c == steady[0] for c in steady), steady
        assert steady[0]["evaluations"] == 1
        # one build at the first fee tried (its estimate is what the size asks for): 3 encodings, 1 body
        assert steady[0]["tx encodings"] == 3 and steady[0]["body encodings"] == 1, steady[0]
        assert registrations[-1]["tx encodings"] <= steady[0]["tx encodings"]

        await w.submit_chain([sign(t, [ADMIN]) for t in plan.txs])
        w.advance_ms(31_000 + ALLOCATIONS)
        signatures = {b"M1": [oracle_signature(i, plan.schedule_id, "M1") for i in (2, 3)]}
        counting.counts.clear()
        counting.per_tx.clear()
        release = await build_release(
            w.chain, definition, signatures, OPERATOR_ADDRESS, first_batch=40, on_built=counting.built
        )
        assert len(release.txs) >= 3 and sum(len(t.details["allocations"]) for t in release.txs) == 100
        later = counting.per_tx[1:]
        assert all(c["evaluations"] == 1 for c in later), later
        assert all(c["tx encodings"] == 3 and c["body encodings"] == 1 for c in later), later
