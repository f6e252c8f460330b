"""`evaluateTransaction` over the UTxO set Ogmios uses (issue 14, points 6 and 7).

Ogmios 6.14 refuses an `additionalUtxo` entry the ledger also has only when the two differ (Blaze and
Lucid Evolution pass the inputs they already fetched, so identical entries are their default path), and
since 6.2 it adds the outputs of mempool transactions, so a chain of script transactions evaluates
before the first one is in a block.
"""

from __future__ import annotations

from typing import Any

from devnet_support import (
    ALICE,
    ALWAYS_SUCCEEDS,
    OgmiosProbe,
    funds_of,
    integrity_hash,
    lock,
    payment,
    redeemer_map,
    script_address,
    signed,
)
from pycardano import (
    ExecutionUnits,
    PlutusData,
    RedeemerTag,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
)

from milestoned.devnet.service import Devnet

UNITS = ExecutionUnits(1_000_000, 500_000_000)


def spend_script_output(locked: TransactionInput, collateral: TransactionInput) -> Transaction:
    """ALICE spends the always-succeeds output `locked` (evaluation needs no balance, only the inputs)."""
    redeemers = redeemer_map((RedeemerTag.SPEND, 0, PlutusData(), UNITS))
    body = TransactionBody(
        inputs=[locked],
        outputs=[TransactionOutput(ALICE.address, 5_000_000)],
        fee=1_000_000,
        collateral=[collateral],
        script_data_hash=integrity_hash(redeemers),
    )
    return signed(body, ALICE, plutus_v3_script=[ALWAYS_SUCCEEDS], redeemer=redeemers)


async def test_identical_additional_utxo_entries_are_accepted(probe: OgmiosProbe, devnet: Devnet) -> None:
    locked = lock(devnet, ALICE, script_address(ALWAYS_SUCCEEDS), datum=PlutusData())
    tx = spend_script_output(locked, funds_of(devnet, ALICE)[0])
    params: dict[str, Any] = {"transaction": {"cbor": tx.to_cbor_hex()}}
    budgets = await probe.result("evaluateTransaction", params)
    # What a client fetched from the ledger, passed back unchanged, as Blaze and Lucid Evolution do.
    fetched = await probe.result(
        "queryLedgerState/utxo",
        {"outputReferences": [{"transaction": {"id": str(locked.transaction_id)}, "index": locked.index}]},
    )
    params["additionalUtxo"] = fetched
    assert await probe.result("evaluateTransaction", params) == budgets
    # The same reference with another value is still refused, every overlapping reference listed.
    params["additionalUtxo"] = [{**fetched[0], "value": {"ada": {"lovelace": 11_000_000}}}]
    error = await probe.error("evaluateTransaction", params)
    assert error["code"] == 3002
    assert error["data"]["overlappingOutputReferences"] == [
        {"transaction": {"id": str(locked.transaction_id)}, "index": locked.index}
    ]


async def test_evaluation_sees_the_outputs_of_mempool_transactions(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    to_script = signed(
        payment(
            devnet,
            ALICE,
            [TransactionOutput(script_address(ALWAYS_SUCCEEDS), 10_000_000, datum=PlutusData())],
        ),
        ALICE,
    )
    await probe.result("submitTransaction", {"transaction": {"cbor": to_script.to_cbor_hex()}})
    assert [tx.id for tx in devnet.pending()] == [bytes(to_script.id.payload)]
    # Both the script output and the collateral (ALICE's change) exist only in the mempool so far.
    spend = spend_script_output(TransactionInput(to_script.id, 0), TransactionInput(to_script.id, 1))
    budgets = await probe.result("evaluateTransaction", {"transaction": {"cbor": spend.to_cbor_hex()}})
    assert [b["validator"] for b in budgets] == [{"purpose": "spend", "index": 0}]
    # Once the mempool transaction is in a block the ledger has them: the same answer.
    devnet.produce_block()
    assert (
        await probe.result("evaluateTransaction", {"transaction": {"cbor": spend.to_cbor_hex()}}) == budgets
    )
