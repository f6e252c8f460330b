"""The Python `ogmios` package (PyPI, pinned in constraints.txt; pycardano depends on it) and pycardano's
Ogmios and Kupo chain contexts against a devnet process (issue 14, point 15): the queries the client
exposes, chain sync, mempool monitoring, evaluate and submit; then pycardano reading UTxOs, datums and
reference scripts through the devnet's Kupo subset while it builds a Plutus V3 lock and spend."""

from __future__ import annotations

import json
import time
from typing import Any

import ogmios
import ogmios.errors
import pytest
from interop_support import Keys, kupo, redeemer_is, rpc, utxo_at
from pycardano import (
    PlutusData,
    Redeemer,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
    plutus_script_hash,
)
from pycardano.backend.kupo import KupoChainContextExtension
from pycardano.backend.ogmios_v6 import OgmiosV6ChainContext

SPEND = redeemer_is(42, "pycardano")


def test_python_ogmios_client(devnet_process: Any) -> None:
    port = devnet_process.port
    alice, bob = Keys(), Keys()
    rpc(port, "devnet/fund", {"address": str(alice.enterprise), "lovelace": 100_000_000})
    with ogmios.Client("127.0.0.1", port) as client:
        tip, _ = client.query_network_tip.execute()
        height, _ = client.query_block_height.execute()
        ledger_tip, _ = client.query_ledger_tip.execute()
        epoch, _ = client.query_epoch.execute()
        start, _ = client.query_start_time.execute()
        summaries, _ = client.query_era_summaries.execute()
        params, _ = client.query_protocol_parameters.execute()
        genesis, _ = client.query_genesis_configuration.execute("shelley")
        utxos, _ = client.query_utxo.execute([ogmios.Address(str(alice.enterprise))])
        for query in (
            client.query_rewards_provenance,
            client.query_constitution,
            client.query_constitutional_committee,
            client.query_treasury_and_reserves,
            client.query_era_start,
        ):
            query.execute()
        distribution, _ = client.query_live_stake_distribution.execute()
        pools, _ = client.query_stake_pools.execute(list(distribution))
        assert set(distribution) == set(pools) and len(pools) == 1  # the devnet's one genesis pool
        # ogmios 1.4.3 refuses an empty answer as unparsable (`if result := ...`): an unregistered
        # key has no reward account, so the (schema-valid) answer is []. A client limitation.
        unknown = alice.stake.to_verification_key().hash().payload.hex()
        assert rpc(port, "queryLedgerState/rewardAccountSummaries", {"keys": [unknown]}) == []
        with pytest.raises(ogmios.errors.InvalidResponseError):
            client.query_reward_account_summaries.execute(keys=[unknown])
        assert height >= 1 and epoch >= 0 and ledger_tip.slot == tip.slot
        assert summaries[0].start_slot == 0 and summaries[-1].end_slot > tip.slot  # the horizon is ahead
        assert params.min_utxo_deposit_coefficient == 4310
        assert (
            genesis.network_magic
            == rpc(port, "queryNetwork/genesisConfiguration", {"era": "shelley"})["networkMagic"]
        )
        assert [u.value["ada"]["lovelace"] for u in utxos] == [100_000_000]
        assert start.year >= 2024

        # Chain sync from the origin to the tip this client saw.
        client.find_intersection.execute([ogmios.Origin()])
        direction, _, _point, _ = client.next_block.execute()
        assert direction == ogmios.Direction.backward
        seen = 0
        while True:
            direction, _, block, _ = client.next_block.execute()
            assert direction == ogmios.Direction.forward
            seen += 1
            assert block.height == seen  # every block, in order, from the first
            if block.id == tip.id:
                break
        assert seen >= 1

        # pycardano builds a payment; the ogmios package evaluates, submits and watches the mempool.
        context = KupoChainContextExtension(
            OgmiosV6ChainContext("127.0.0.1", port),
            kupo_url=f"http://127.0.0.1:{port}/kupo",
            refetch_chain_tip_interval=1,
        )
        builder = TransactionBuilder(context)
        builder.add_input_address(alice.enterprise)
        builder.add_output(TransactionOutput(bob.enterprise, 7_000_000))
        payment = builder.build_and_sign([alice.payment], change_address=alice.enterprise)
        with ogmios.Client("127.0.0.1", port) as submitter:
            client.acquire_mempool.execute()
            # The second acquire waits for the mempool to change: sent before the submission, it sees
            # the transaction arrive even if a block takes it a slot (0.1 s) later.
            client.acquire_mempool.send()
            time.sleep(0.2)
            tx_id, _ = submitter.submit_transaction.execute(payment.to_cbor_hex())
            answer = json.loads(client.connection.recv(timeout=30))  # a bound, so a miss fails, not stalls
            assert answer["result"]["acquired"] == "mempool"
        assert client.has_transaction.execute(tx_id)[0] is True
        assert client.size_of_mempool.execute()[0] >= 1
        assert client.next_transaction.execute()[0]["id"] == tx_id  # this client always asks fields=all
        client.release_mempool.execute()
    assert tx_id == str(payment.id)
    _until(lambda: utxo_at(port, str(bob.enterprise)))
    assert [u["value"]["ada"]["lovelace"] for u in utxo_at(port, str(bob.enterprise))] == [7_000_000]

    # A Plutus V3 lock (inline datum, with the script as a reference script) and its spend, every UTxO
    # read through Kupo and the spend's budget from the devnet's evaluateTransaction.
    script_address = _script_address()
    time.sleep(1.1)  # pycardano caches an address's UTxOs per tip slot, and the tip for a second
    lock = TransactionBuilder(context)
    lock.add_input_address(alice.enterprise)
    lock.add_output(TransactionOutput(script_address, 15_000_000, datum=PlutusData(), script=SPEND))
    lock_tx = lock.build_and_sign([alice.payment], change_address=alice.enterprise)
    context.submit_tx(lock_tx)
    [locked] = _until(lambda: kupo(port, f"/matches/0@{lock_tx.id}?unspent"))
    assert (
        locked["datum_type"] == "inline" and locked["script_hash"] == plutus_script_hash(SPEND).payload.hex()
    )
    time.sleep(1.1)  # pycardano caches an address's UTxOs per tip for a second
    [script_utxo] = context.utxos(script_address)
    assert script_utxo.output.script is not None and plutus_script_hash(
        script_utxo.output.script
    ) == plutus_script_hash(SPEND)
    spend = TransactionBuilder(context)
    spend.add_script_input(script_utxo, redeemer=Redeemer(42))
    spend.add_input_address(alice.enterprise)
    spend.add_output(TransactionOutput(bob.enterprise, 3_000_000))
    spend_tx = spend.build_and_sign([alice.payment], change_address=alice.enterprise)
    context.submit_tx(spend_tx)
    _until(lambda: kupo(port, f"/matches/0@{spend_tx.id}?unspent"))
    assert kupo(port, f"/matches/0@{lock_tx.id}?spent")[0]["spent_at"]["transaction_id"] == str(spend_tx.id)
    assert utxo_at(port, str(script_address)) == []


def _script_address() -> Any:
    from pycardano import Address, Network

    return Address(plutus_script_hash(SPEND), network=Network.TESTNET)


def _until(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


__all__ = ["UTxO"]
