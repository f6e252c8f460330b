"""The `devnet/*` methods: fund, advance time, produce a block, roll back onto a fork, drop connections."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from devnet_support import ALICE, BOB, FEE, OgmiosProbe, funds_of, payment, signed
from pycardano import (
    AuxiliaryData,
    Metadata,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
)
from websockets.exceptions import ConnectionClosed

from milestoned.devnet.ledger import LedgerError
from milestoned.devnet.service import Devnet, run_devnet
from milestoned.devnet.transaction import decode_transaction


async def test_fund_pays_and_mints_in_a_new_block(probe: OgmiosProbe, devnet: Devnet) -> None:
    height = devnet.chain.tip.height  # type: ignore[union-attr]
    funded = await probe.result(
        "devnet/fund", {"address": str(BOB.address), "lovelace": 7_000_000, "assets": {b"gold".hex(): 3}}
    )
    assert funded["block"]["height"] == height + 1
    assert funded["policy"] == devnet.faucet.policy_id.hex()
    [utxo] = await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]})
    assert utxo["transaction"] == funded["transaction"] and utxo["index"] == funded["index"]
    assert utxo["value"] == {"ada": {"lovelace": 7_000_000}, funded["policy"]: {b"gold".hex(): 3}}
    error = await probe.error("devnet/fund", {"address": str(BOB.address), "lovelace": 10})
    assert error["code"] == -32602 and "minimum" in error["message"]
    assert (await probe.error("devnet/fund", {"address": "nope"}))["code"] == -32602


async def test_advance_time_and_produce_block(probe: OgmiosProbe, devnet: Devnet) -> None:
    slot = devnet.chain.slot
    assert await probe.result("devnet/advanceTime", {"slots": 30}) == {"slot": slot + 30}
    produced = await probe.result("devnet/produceBlock")
    assert produced["block"]["slot"] == slot + 30 and produced["transactions"] == []
    assert await probe.result("queryNetwork/tip") == {"slot": slot + 30, "id": produced["block"]["id"]}
    again = await probe.result("devnet/produceBlock")
    assert again["block"]["slot"] == slot + 31  # never two blocks in one slot
    assert (await probe.error("devnet/advanceTime", {"slots": -1}))["code"] == -32602


async def test_rollback_sends_followers_backward_then_onto_the_fork(devnet: Devnet) -> None:
    tx = signed(payment(devnet, ALICE, [TransactionOutput(BOB.address, 3_000_000)]), ALICE)
    for _ in range(3):
        devnet.produce_block()
    async with (
        websockets.connect(devnet.url) as follower_socket,
        websockets.connect(devnet.url) as control_socket,
    ):
        follower, control = OgmiosProbe(follower_socket), OgmiosProbe(control_socket)
        await control.result("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        with_tx = await control.result("devnet/produceBlock")
        assert with_tx["transactions"] == [str(tx.id)]
        await follower.result("findIntersection", {"points": [devnet.chain.blocks[-1].point]})
        await follower.result("nextBlock")  # back to the intersection: the tip
        parked = await follower.send("nextBlock")
        kept = devnet.chain.blocks[-3]
        rolled = await control.result("devnet/rollback", {"blocks": 2})
        assert rolled["tip"] == kept.tip
        assert len(rolled["rolledBack"]) == 2
        backward = await follower.receive("nextBlock", parked)
        assert backward["result"] == {"direction": "backward", "tip": kept.tip, "point": kept.point}
        # The rolled-back transaction went back to the mempool and lands in the fork's next block.
        fork = await control.result("devnet/produceBlock")
        assert fork["transactions"] == [str(tx.id)]
        forward = await follower.result("nextBlock")
        assert forward["direction"] == "forward"
        assert forward["block"]["ancestor"] == kept.id.hex()
        assert forward["block"]["id"] != with_tx["block"]["id"]
        assert [t["id"] for t in forward["block"]["transactions"]] == [str(tx.id)]
        error = await control.error("devnet/rollback", {"blocks": 10_000})
        assert error["code"] == -32602


async def test_rollback_without_resubmission_forgets_the_transactions(devnet: Devnet) -> None:
    tx = signed(payment(devnet, ALICE, [TransactionOutput(BOB.address, 3_000_000)]), ALICE)
    async with websockets.connect(devnet.url) as socket:
        probe = OgmiosProbe(socket)
        await probe.result("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
        await probe.result("devnet/produceBlock")
        assert await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]})
        await probe.result("devnet/rollback", {"blocks": 1, "resubmit": False})
        assert await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]}) == []
        assert (await probe.result("devnet/produceBlock"))["transactions"] == []


async def test_a_follower_behind_the_rollback_point_just_continues(devnet: Devnet) -> None:
    for _ in range(4):
        devnet.produce_block()
    async with websockets.connect(devnet.url) as socket:
        follower = OgmiosProbe(socket)
        await follower.result("nextBlock")
        first = await follower.result("nextBlock")
        devnet.rollback(2)
        fork = devnet.produce_block()
        heights = [first["block"]["height"]]
        while heights[-1] < fork.height:
            step = await follower.result("nextBlock")
            assert step["direction"] == "forward"
            heights.append(step["block"]["height"])
        assert heights == list(range(1, fork.height + 1))
        assert step["block"]["id"] == fork.id.hex()


async def test_drop_connections_closes_every_socket(devnet: Devnet) -> None:
    async with websockets.connect(devnet.url) as caller, websockets.connect(devnet.url) as bystander:
        await caller.send(json.dumps({"jsonrpc": "2.0", "method": "devnet/dropConnections", "id": 1}))
        reply = json.loads(await caller.recv())
        assert reply["result"] == {"dropped": 2}
        for socket in (caller, bystander):
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(socket.recv(), timeout=5)
    # The devnet keeps serving new connections.
    async with websockets.connect(devnet.url) as again:
        assert (await OgmiosProbe(again).result("queryNetwork/tip")) == devnet.chain.point_json()


async def test_the_slot_clock_makes_blocks_for_submitted_transactions() -> None:
    async with run_devnet(port=0, slot_length=0.02, funds={str(ALICE.address): 10_000_000_000}) as devnet:
        tx = signed(payment(devnet, ALICE, [TransactionOutput(BOB.address, 3_000_000)]), ALICE)
        async with websockets.connect(devnet.url) as socket:
            probe = OgmiosProbe(socket)
            tip = devnet.chain.tip
            assert tip is not None
            await probe.result("findIntersection", {"points": [tip.point]})
            await probe.result("nextBlock")
            await probe.result("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
            for _ in range(200):
                step = await asyncio.wait_for(probe.result("nextBlock"), timeout=10)
                if any(t["id"] == str(tx.id) for t in step["block"]["transactions"]):
                    break
            else:
                raise AssertionError("the clock never put the transaction in a block")
            assert step["block"]["slot"] > tip.slot


async def test_a_full_block_takes_a_prefix_of_the_mempool_and_the_rest_follows(
    devnet: Devnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chained transactions larger than one block together: none is lost, order is kept; and the
    re-validation of the mempool at each block re-encodes no output (each transaction's output sizes
    are measured once, at submission: otherwise a block costs the square of the mempool)."""
    source, funds = funds_of(devnet, ALICE)
    ids = []
    for _ in range(8):
        metadata = AuxiliaryData(Metadata({674: ["x" * 64] * 200}))  # about 13 KB each
        body = TransactionBody(
            inputs=[source],
            outputs=[TransactionOutput(ALICE.address, funds.amount.coin - FEE)],
            fee=FEE,
            auxiliary_data_hash=metadata.hash(),
        )
        tx = Transaction(
            body, TransactionWitnessSet(vkey_witnesses=[ALICE.witness(body)]), auxiliary_data=metadata
        )
        result = devnet.chain.submit(decode_transaction(tx.to_cbor()))
        assert not isinstance(result, LedgerError), result
        ids.append(tx.id.payload)
        source, funds = TransactionInput(tx.id, 0), body.outputs[0]
    encoded: list[TransactionOutput] = []
    to_cbor = TransactionOutput.to_cbor
    monkeypatch.setattr(TransactionOutput, "to_cbor", lambda self: encoded.append(self) or to_cbor(self))
    first = devnet.produce_block()
    assert 0 < len(first.transactions) < 8
    assert sum(t.decoded.size for t in first.transactions) <= devnet.chain.params.max_block_body_size
    second = devnet.produce_block()
    assert [t.id for t in (*first.transactions, *second.transactions)] == ids
    assert not devnet.chain.mempool
    assert encoded == []
