"""The devnet speaks Ogmios v6: envelopes, chain sync, ledger-state and network queries, mempool."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from devnet_support import ALICE, BOB, OgmiosProbe, SchemaValidator, schema, signed
from pycardano import TransactionBody, TransactionOutput

from milestoned.devnet.service import Devnet


async def test_id_is_echoed_whatever_its_type_and_null_when_absent(devnet: Devnet) -> None:
    async with websockets.connect(devnet.url) as ws:
        for request_id in ("abc", 7, {"nested": [1, 2]}, None):
            request: dict[str, object] = {"jsonrpc": "2.0", "method": "queryNetwork/tip"}
            if request_id is not None:
                request["id"] = request_id
            await ws.send(json.dumps(request))
            message = json.loads(await ws.recv())
            assert message["id"] == request_id
            assert message["method"] == "queryNetwork/tip"
            schema().validate(message, "QueryNetworkTipResponse")


async def test_json_rpc_faults(devnet: Devnet) -> None:
    async with websockets.connect(devnet.url) as ws:
        await ws.send("{not json")
        assert json.loads(await ws.recv())["error"]["code"] == -32700
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1}))
        assert json.loads(await ws.recv())["error"]["code"] == -32600
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "queryLedgerState/nonsense", "id": 2}))
        message = json.loads(await ws.recv())
        assert message["error"]["code"] == -32601
        assert message["id"] == 2


async def test_first_next_block_rolls_back_to_origin_then_blocks_follow(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    first = await probe.result("nextBlock")
    assert first == {"direction": "backward", "tip": devnet.chain.tip_json(), "point": "origin"}
    second = await probe.result("nextBlock")
    assert second["direction"] == "forward"
    assert second["block"]["height"] == 1
    assert second["block"]["ancestor"] == "genesis"
    assert second["block"]["era"] == "conway"


async def test_find_intersection_then_rollback_to_it(probe: OgmiosProbe, devnet: Devnet) -> None:
    for _ in range(3):
        devnet.produce_block()
    second = devnet.chain.blocks[1]
    unknown = {"slot": 5, "id": "ab" * 32}
    result = await probe.result("findIntersection", {"points": [unknown, second.point, "origin"]})
    assert result == {"intersection": second.point, "tip": devnet.chain.tip_json()}
    assert await probe.result("nextBlock") == {
        "direction": "backward",
        "tip": devnet.chain.tip_json(),
        "point": second.point,
    }
    forward = await probe.result("nextBlock")
    assert forward["block"]["id"] == devnet.chain.blocks[2].id.hex()
    assert forward["block"]["ancestor"] == second.id.hex()


async def test_find_intersection_not_found_is_error_1000_with_tip(probe: OgmiosProbe, devnet: Devnet) -> None:
    error = await probe.error("findIntersection", {"points": [{"slot": 1, "id": "cd" * 32}]})
    assert error["code"] == 1000
    assert error["data"] == {"tip": devnet.chain.tip_json()}


async def test_find_intersection_while_next_block_in_flight_is_error_1001(probe: OgmiosProbe) -> None:
    await probe.result("nextBlock")  # the rollback to origin
    await probe.result("nextBlock")  # the only block: the cursor is now at the tip
    waiting = await probe.send("nextBlock")
    intersect = await probe.send("findIntersection", {"points": ["origin"]})
    error = await probe.receive("findIntersection", intersect)
    assert error["error"]["code"] == 1001
    assert waiting  # the parked nextBlock is still outstanding; the connection closes with it


async def test_next_block_waits_at_the_tip_until_a_block_comes(probe: OgmiosProbe, devnet: Devnet) -> None:
    await probe.result("nextBlock")
    await probe.result("nextBlock")
    waiting = await probe.send("nextBlock")
    # A query on the same socket is answered while nextBlock is parked at the tip.
    tip = await probe.result("queryNetwork/tip")
    assert tip == devnet.chain.point_json()
    await asyncio.sleep(0.05)
    block = devnet.produce_block()
    message = await probe.receive("nextBlock", waiting)
    assert message["result"]["direction"] == "forward"
    assert message["result"]["block"]["id"] == block.id.hex()


async def test_pipelined_next_blocks_are_answered_in_request_order(
    probe: OgmiosProbe, devnet: Devnet
) -> None:
    for _ in range(120):
        devnet.produce_block()
    ids = [await probe.send("nextBlock") for _ in range(100)]
    heights = []
    for request_id in ids:
        message = await probe.receive("nextBlock", request_id)
        if message["result"]["direction"] == "forward":
            heights.append(message["result"]["block"]["height"])
    assert heights == list(range(1, 100))


async def test_ledger_state_and_network_queries(probe: OgmiosProbe, devnet: Devnet) -> None:
    devnet.produce_block()
    tip = devnet.chain.tip
    assert tip is not None
    assert await probe.result("queryLedgerState/tip") == tip.point
    assert await probe.result("queryNetwork/tip") == tip.point
    assert await probe.result("queryNetwork/blockHeight") == tip.height
    assert await probe.result("queryLedgerState/epoch") == tip.slot // devnet.network.epoch_length
    assert await probe.result("queryLedgerState/eraStart") == {"time": {"seconds": 0}, "slot": 0, "epoch": 0}
    summaries = await probe.result("queryLedgerState/eraSummaries")
    assert len(summaries) == 7 and all("end" in s for s in summaries)
    assert summaries[-1]["end"]["slot"] > tip.slot
    assert summaries[-1]["parameters"]["slotLength"] == {"milliseconds": devnet.network.slot_length_ms}
    # The devnet forks into Conway at its start: the earlier eras are empty, Byron with Byron's parameters.
    assert all(
        s["start"] == s["end"] == {"time": {"seconds": 0}, "slot": 0, "epoch": 0} for s in summaries[:-1]
    )
    assert summaries[0]["parameters"] == {
        "epochLength": 21_600,
        "slotLength": {"milliseconds": 20_000},
        "safeZone": 4_320,
    }
    start = await probe.result("queryNetwork/startTime")
    assert start == devnet.network.start_time_json() and "." not in start
    params = await probe.result("queryLedgerState/protocolParameters")
    assert params["minFeeCoefficient"] == 44
    assert params["minFeeReferenceScripts"] == {"base": 15.0, "range": 25600, "multiplier": 1.2}
    assert len(params["plutusCostModels"]["plutus:v3"]) == 297
    assert await probe.result("queryLedgerState/rewardAccountSummaries", {"keys": []}) == []


async def test_genesis_configurations(
    probe: OgmiosProbe, devnet: Devnet, ogmios_schema: SchemaValidator
) -> None:
    shelley = await probe.result("queryNetwork/genesisConfiguration", {"era": "shelley"})
    assert shelley["initialFunds"][str(ALICE.address)] == {"ada": {"lovelace": 1_000_000_000_000}}
    assert shelley["slotLength"] == {"milliseconds": devnet.network.slot_length_ms}
    assert (await probe.result("queryNetwork/genesisConfiguration", {"era": "alonzo"}))["era"] == "alonzo"
    assert (await probe.result("queryNetwork/genesisConfiguration", {"era": "conway"}))["era"] == "conway"
    # Byron: ogmios.json's Genesis<Byron> requires `protocolParameters` but forbids every key outside
    # its properties, which name it `updatableParameters`; no message can satisfy both. Ogmios (and
    # ogmios-python, which pycardano uses) send `updatableParameters`, so we check the rest of the shape.
    message = await probe.call("queryNetwork/genesisConfiguration", {"era": "byron"}, validate=False)
    byron = message["result"]
    patched = {**byron, "protocolParameters": byron["updatableParameters"]}
    del patched["updatableParameters"]
    with pytest.raises(Exception, match="protocolParameters"):
        ogmios_schema.validate_definition(patched, "cardano.json#/definitions/Genesis<Byron>")
    rest = {k: v for k, v in byron.items() if k != "updatableParameters"}
    ogmios_schema.validate_definition(
        byron["updatableParameters"], "cardano.json#/definitions/BootstrapProtocolParameters"
    )
    assert set(rest) == {
        "era",
        "genesisKeyHashes",
        "genesisDelegations",
        "startTime",
        "initialFunds",
        "initialVouchers",
        "securityParameter",
        "networkMagic",
    }
    error = await probe.error("queryNetwork/genesisConfiguration", {"era": "mary"})
    assert error["code"] == -32602


async def test_utxo_queries_by_address_by_reference_and_whole(probe: OgmiosProbe, devnet: Devnet) -> None:
    by_address = await probe.result("queryLedgerState/utxo", {"addresses": [str(ALICE.address)]})
    assert len(by_address) == 1
    entry = by_address[0]
    assert entry["address"] == str(ALICE.address)
    assert entry["value"] == {"ada": {"lovelace": 1_000_000_000_000}}
    reference = {"transaction": entry["transaction"], "index": entry["index"]}
    missing = {"transaction": {"id": "00" * 32}, "index": 3}
    assert await probe.result("queryLedgerState/utxo", {"outputReferences": [reference, missing]}) == [entry]
    whole = await probe.result("queryLedgerState/utxo")
    assert entry in whole and len(whole) == 2  # Alice's funds and the faucet's
    assert await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]}) == []
    error = await probe.error("queryLedgerState/utxo", {"addresses": ["not-an-address"]})
    assert error["code"] == -32602


async def test_acquired_ledger_state_answers_for_its_point(probe: OgmiosProbe, devnet: Devnet) -> None:
    before = devnet.chain.tip
    assert before is not None
    acquired = await probe.result("acquireLedgerState", {"point": before.point})
    assert acquired == {"acquired": "ledgerState", "point": before.point}
    devnet.fund(BOB.address, 5_000_000)
    assert await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]}) == []
    assert await probe.result("queryLedgerState/tip") == before.point
    assert await probe.result("releaseLedgerState") == {"released": "ledgerState"}
    assert len(await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]})) == 1
    error = await probe.error("acquireLedgerState", {"point": {"slot": 3, "id": "ef" * 32}})
    assert error["code"] == 2000
    # A point that a rollback removed: the acquired state has expired.
    await probe.result("acquireLedgerState", {"point": devnet.chain.tip.point})  # type: ignore[union-attr]
    devnet.rollback(1)
    assert (await probe.error("queryLedgerState/utxo"))["code"] == 2003


async def test_mempool_monitoring(probe: OgmiosProbe, devnet: Devnet) -> None:
    assert (await probe.error("sizeOfMempool"))["code"] == 4000
    funds = next(iter(devnet.chain.utxo_at(devnet.chain.tip.id).items()))  # type: ignore[union-attr]
    txin, output = next((t, o) for t, o in devnet.chain.utxo.items() if o.address == ALICE.address)
    body = TransactionBody(inputs=[txin], outputs=[TransactionOutput(BOB.address, 2_000_000)], fee=200_000)
    body.outputs.append(TransactionOutput(ALICE.address, output.amount.coin - 2_200_000))
    tx = signed(body, ALICE)
    assert funds
    submitted = await probe.result("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
    assert submitted == {"transaction": {"id": str(tx.id)}}
    acquired = await probe.result("acquireMempool")
    assert acquired == {"acquired": "mempool", "slot": devnet.chain.slot}
    assert await probe.result("hasTransaction", {"id": str(tx.id)}) is True
    assert await probe.result("hasTransaction", {"id": "00" * 32}) is False
    size = await probe.result("sizeOfMempool")
    assert size["transactions"] == {"count": 1} and size["currentSize"]["bytes"] == len(tx.to_cbor())
    assert await probe.result("nextTransaction") == {"transaction": {"id": str(tx.id)}}
    assert await probe.result("nextTransaction") == {"transaction": None}
    assert await probe.result("releaseMempool") == {"released": "mempool"}
    await probe.result("acquireMempool")
    full = await probe.result("nextTransaction", {"fields": "all"})
    assert full["transaction"]["id"] == str(tx.id) and full["transaction"]["spends"] == "inputs"
    assert await probe.result("releaseMempool") == {"released": "mempool"}
    block = devnet.produce_block()
    assert [t.decoded.id_hex for t in block.transactions] == [str(tx.id)]


async def test_health_endpoint(devnet: Devnet) -> None:
    reader, writer = await asyncio.open_connection(devnet.host, devnet.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    raw = await reader.read(65536)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    health = json.loads(body)
    assert health["lastKnownTip"] == devnet.chain.tip_json()
    assert health["networkSynchronization"] == 1 and health["connectionStatus"] == "connected"
    assert health["currentEra"] == "conway"


async def test_reacquiring_the_mempool_waits_until_it_changes(probe: OgmiosProbe, devnet: Devnet) -> None:
    """Ogmios answers a second acquireMempool only once the mempool differs from the held snapshot."""
    first = await probe.result("acquireMempool")
    waiting = asyncio.ensure_future(probe.result("acquireMempool"))
    devnet.advance(3)  # the slot moves, the mempool does not: still waiting
    await asyncio.sleep(0.2)
    assert not waiting.done()
    async with websockets.connect(devnet.url) as other:
        funded = await OgmiosProbe(other).result(
            "devnet/fund", {"address": str(BOB.address), "lovelace": 2_000_000, "produceBlock": False}
        )
    second = await asyncio.wait_for(waiting, timeout=10)
    assert second["acquired"] == "mempool" and second["slot"] >= first["slot"]
    assert await probe.result("hasTransaction", {"id": funded["transaction"]["id"]}) is True
