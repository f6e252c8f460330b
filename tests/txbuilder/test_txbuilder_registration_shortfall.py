"""A registration that needs several transactions and runs out of money in the middle reports the whole
schedule's figures (what the wallet holds against what all allocations need), not one transaction's."""

from __future__ import annotations

import re

import pytest
from pycardano import PaymentSigningKey
from txbuilder_support import TOKEN_NAME, enterprise, large_schedule, world

from milestoned.txbuilder.errors import InsufficientFunds
from milestoned.txbuilder.registration import build_registration

HELD_LOVELACE = 30_000_000


async def test_a_multi_transaction_shortfall_gives_the_schedule_totals() -> None:
    async with world() as w:
        definition = large_schedule(w.devnet, w.now_ms, 150)
        payer = PaymentSigningKey.generate()
        w.devnet.fund(enterprise(payer), HELD_LOVELACE, {TOKEN_NAME: definition.total_amount})
        with pytest.raises(InsufficientFunds) as short:
            await build_registration(w.chain, definition, enterprise(payer))
    message = str(short.value)
    assert f"holds {HELD_LOVELACE:,} lovelace" in message, message
    assert f"all {len(definition.allocations)} allocations" in message
    assert f"needs {definition.total_amount:,} token units" in message
    needed = int(re.search(r"at least ([\d,]+) lovelace \(", message).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert needed > 150 * 1_000_000  # every allocation locks its min-ADA: the schedule's total, not one tx's
    assert short.value.available == HELD_LOVELACE and short.value.needed == needed
    assert f"at least {needed - HELD_LOVELACE:,} more lovelace" in message
