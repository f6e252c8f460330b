"""pycardano's own `OgmiosV6ChainContext`, unmodified, drives a Plutus V3 transaction through the devnet."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import websockets
from devnet_support import ALICE, ALWAYS_SUCCEEDS, OgmiosProbe, script_address
from pycardano import (
    Network,
    PlutusData,
    Redeemer,
    RedeemerMap,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
)
from pycardano.backend.ogmios_v6 import OgmiosV6ChainContext

from milestoned.devnet.service import Devnet, run_devnet


def lock_and_spend(port: int) -> tuple[str, str, dict[str, Any]]:
    """Everything pycardano does, synchronously, as an application would (run in a worker thread)."""
    context = OgmiosV6ChainContext("127.0.0.1", port, network=Network.TESTNET)
    assert context.epoch >= 1
    assert context.protocol_param.coins_per_utxo_byte == 4_310
    genesis = context.genesis_param
    observed = {"network_magic": genesis.network_magic, "slot_length": genesis.slot_length}

    lock = TransactionBuilder(context)
    lock.add_input_address(ALICE.address)
    lock.add_output(TransactionOutput(script_address(ALWAYS_SUCCEEDS), 20_000_000, datum=PlutusData()))
    lock_tx = lock.build_and_sign([ALICE.signing_key], change_address=ALICE.address)
    context.submit_tx(lock_tx)
    script_utxo = wait_for_utxo(context, str(lock_tx.id), 0)
    # pycardano caches an address's UTxOs per tip slot, and the tip slot for one second: let that
    # cache expire so the spend does not pick the output the lock just consumed as collateral.
    time.sleep(1.1)

    spend = TransactionBuilder(context)
    spend.add_script_input(script_utxo, script=ALWAYS_SUCCEEDS, redeemer=Redeemer(PlutusData()))
    spend.add_input_address(ALICE.address)
    spend.add_output(TransactionOutput(ALICE.address, 15_000_000))
    spend_tx: Transaction = spend.build_and_sign([ALICE.signing_key], change_address=ALICE.address)
    redeemers = spend_tx.transaction_witness_set.redeemer
    units = (
        next(iter(redeemers.values())).ex_units
        if isinstance(redeemers, RedeemerMap)
        else redeemers[0].ex_units
    )
    observed["ex_units"] = (units.mem, units.steps)
    context.submit_tx(spend_tx)
    return str(lock_tx.id), str(spend_tx.id), observed


def wait_for_utxo(context: OgmiosV6ChainContext, tx_id: str, index: int) -> UTxO:
    for _ in range(200):
        utxo = context.utxo_by_tx_id(tx_id, index)
        if utxo is not None:
            return utxo
        time.sleep(0.05)
    raise AssertionError(f"{tx_id}#{index} never appeared in the devnet's UTxO set")


async def follow_until(devnet: Devnet, tx_id: str, limit: int = 500) -> dict[str, Any]:
    """Chain-sync from origin until a block holds `tx_id`; return that transaction's JSON."""
    async with websockets.connect(devnet.url, max_size=None) as connection:
        probe = OgmiosProbe(connection)
        await probe.result("findIntersection", {"points": ["origin"]})
        for _ in range(limit):
            step = await probe.result("nextBlock")
            if step["direction"] != "forward":
                continue
            for tx in step["block"].get("transactions", []):
                if tx["id"] == tx_id:
                    return dict(tx)
    raise AssertionError(f"transaction {tx_id} was never seen by chain sync")


async def test_pycardano_builds_evaluates_signs_and_submits_a_plutus_v3_spend() -> None:
    funds = {str(ALICE.address): 500_000_000_000}
    async with run_devnet(port=0, slot_length=0.05, funds=funds) as devnet:
        lock_id, spend_id, observed = await asyncio.wait_for(
            asyncio.to_thread(lock_and_spend, devnet.port), timeout=120
        )
        spent = await asyncio.wait_for(follow_until(devnet, spend_id), timeout=60)
    assert observed["network_magic"] == 42 and observed["slot_length"] == 50
    assert spent["spends"] == "inputs"
    assert {"transaction": {"id": lock_id}, "index": 0} in spent["inputs"]
    [redeemer] = spent["redeemers"]
    assert redeemer["validator"]["purpose"] == "spend"
    assert (redeemer["executionUnits"]["memory"], redeemer["executionUnits"]["cpu"]) == observed["ex_units"]
    assert spent["scripts"] == {
        str(script_address(ALWAYS_SUCCEEDS).payment_part): {
            "language": "plutus:v3",
            "cbor": bytes(ALWAYS_SUCCEEDS).hex(),
        }
    }
