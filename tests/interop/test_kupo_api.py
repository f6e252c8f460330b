"""The devnet's Kupo subset (milestoned/devnet/kupo.py) over real HTTP on the Ogmios port: the shapes
and patterns Lucid's and Blaze's Kupmios providers read, spent/unspent, datums, scripts, rollbacks,
health, and clear errors for what it does not serve. In-process devnet with a frozen clock; no Node."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "devnet"))

from devnet_support import (
    ALICE,
    ALWAYS_SUCCEEDS,
    BOB,
    commit,
    integrity_hash,
    payment,
    script_address,
    signed,
)
from pycardano import (
    PlutusData,
    RedeemerMap,
    ScriptPubkey,
    TransactionOutput,
    datum_hash,
    plutus_script_hash,
)

from milestoned.devnet.service import Devnet, run_devnet


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    async with run_devnet(port=0, clock=False, funds={str(ALICE.address): 1_000_000_000_000}) as running:
        yield running


def get(devnet: Devnet, path: str, accept: str = "") -> tuple[int, str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{devnet.port}/kupo{path}")
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read().decode()
            kind = answer.headers["Content-Type"]
            return answer.status, kind, json.loads(body) if "json" in kind else body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], json.loads(exc.read())


async def fetch(devnet: Devnet, path: str, accept: str = "") -> tuple[int, str, Any]:
    return await asyncio.to_thread(get, devnet, path, accept)


async def test_matches_by_address_output_reference_asset_and_credential(devnet: Devnet) -> None:
    block = devnet.fund(BOB.address, 3_000_000, {b"tok": 5})
    [funding] = block.transactions
    tx_id = funding.decoded.id_hex
    status, kind, matches = await fetch(devnet, f"/matches/{BOB.address}?unspent")
    assert status == 200 and kind.startswith("application/json")
    [match] = matches
    policy = devnet.chain.faucet.policy_id.hex()
    assert match == {
        "transaction_index": 0,
        "transaction_id": tx_id,
        "output_index": 0,
        "address": str(BOB.address),
        "value": {"coins": 3_000_000, "assets": {f"{policy}.{b'tok'.hex()}": 5}},
        "datum_hash": None,
        "script_hash": None,
        "created_at": {"slot_no": block.slot, "header_hash": block.id.hex()},
        "spent_at": None,
    }
    same = [
        f"/matches/0@{tx_id}",
        f"/matches/{policy}.{b'tok'.hex()}?unspent",
        f"/matches/{policy}.*",
        f"/matches/{BOB.key_hash.hex()}/*?unspent",
        f"/matches/{BOB.address}?unspent&policy_id={policy}&asset_name={b'tok'.hex()}",
        f"/matches/*?transaction_id={tx_id}&output_index=0",
    ]
    for path in same:
        assert (await fetch(devnet, path))[2] == [match], path
    assert (await fetch(devnet, f"/matches/*@{tx_id}?unspent"))[2][0] == match  # then the faucet's change
    assert (await fetch(devnet, f"/matches/{BOB.address}?policy_id={'00' * 28}"))[2] == []
    assert (await fetch(devnet, f"/matches/1@{tx_id}"))[2][0]["address"] != str(BOB.address)


async def test_spent_outputs_datums_scripts_and_rollback(devnet: Devnet) -> None:
    native = ScriptPubkey(ALICE.verification_key.hash())
    inline, hashed = PlutusData(), 42
    before = (await fetch(devnet, "/matches/*?unspent"))[2]  # the index exists before the block: kept
    assert before and all(m["spent_at"] is None for m in before)  # and then only brought up to date
    outputs = [
        TransactionOutput(script_address(ALWAYS_SUCCEEDS), 5_000_000, datum=inline),
        TransactionOutput(script_address(ALWAYS_SUCCEEDS), 6_000_000, datum_hash=datum_hash(hashed)),
        TransactionOutput(BOB.address, 20_000_000, script=ALWAYS_SUCCEEDS),
        TransactionOutput(BOB.address, 5_000_000, script=native),
    ]
    body = payment(devnet, ALICE, outputs, script_data_hash=integrity_hash(RedeemerMap({}), [hashed]))
    tx = signed(body, ALICE, plutus_data=[hashed])
    source = tx.transaction_body.inputs[0]
    commit(devnet, tx)
    tx_id = str(tx.id)
    matches = {m["output_index"]: m for m in (await fetch(devnet, f"/matches/*@{tx_id}?unspent"))[2]}
    assert matches[0]["datum_type"] == "inline" and matches[1]["datum_type"] == "hash"
    assert matches[1]["datum_hash"] == datum_hash(hashed).payload.hex()
    assert matches[2]["script_hash"] == plutus_script_hash(ALWAYS_SUCCEEDS).payload.hex()
    assert (await fetch(devnet, f"/datums/{matches[0]['datum_hash']}"))[2] == {"datum": inline.to_cbor_hex()}
    assert (await fetch(devnet, f"/datums/{matches[1]['datum_hash']}"))[2] == {"datum": "182a"}
    assert (await fetch(devnet, f"/datums/{'ab' * 32}"))[2] is None
    assert (await fetch(devnet, f"/scripts/{matches[2]['script_hash']}"))[2] == {
        "language": "plutus:v3",
        "script": bytes(ALWAYS_SUCCEEDS).hex(),
    }
    assert (await fetch(devnet, f"/scripts/{native.hash().payload.hex()}"))[2] == {
        "language": "native",
        "script": native.to_cbor_hex(),
    }
    resolved = (await fetch(devnet, f"/matches/2@{tx_id}?resolve_hashes"))[2][0]
    assert resolved["script"]["language"] == "plutus:v3" and resolved["datum"] is None

    # The spent input is listed with where it was spent, and not as unspent.
    ref = f"{source.index}@{source.transaction_id.payload.hex()}"
    [spent] = (await fetch(devnet, f"/matches/{ref}?spent"))[2]
    assert spent["spent_at"]["transaction_id"] == tx_id and spent["spent_at"]["input_index"] == 0
    assert (await fetch(devnet, f"/matches/{ref}?unspent"))[2] == []

    # A rollback takes the block back: its outputs vanish, its input is unspent again.
    devnet.rollback(1, resubmit=False)
    assert (await fetch(devnet, f"/matches/*@{tx_id}"))[2] == []
    assert (await fetch(devnet, f"/matches/{ref}?unspent"))[2][0]["spent_at"] is None


async def test_health_and_clear_errors(devnet: Devnet) -> None:
    devnet.fund(BOB.address, 2_000_000)
    status, _, health = await fetch(devnet, "/health")
    assert status == 200 and health["most_recent_checkpoint"] == devnet.chain.tip.slot
    assert health["connection_status"] == "connected" and health["configuration"] == {"indexes": "installed"}
    status, kind, text = await fetch(devnet, "/health", accept="text/plain")
    assert kind.startswith("text/plain") and f"kupo_most_recent_checkpoint  {devnet.chain.tip.slot}" in text
    for path, code, named in [
        ("/matches/not-a-pattern", 400, "not-a-pattern"),
        ("/matches/*?created_after=3", 400, "created_after"),
        ("/matches/*?unspent&spent", 400, "at most one"),
        ("/matches/12", 400, "Metadata"),
        ("/checkpoints", 404, "/checkpoints"),
        ("/metadata/12", 404, "/metadata/12"),
        ("/datums/abc", 400, "64 hex"),
    ]:
        status, _, body = await fetch(devnet, path)
        assert status == code and named in body["hint"], (path, body)

    # The Ogmios /health on the same port is still Ogmios's.
    def ogmios_health() -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{devnet.port}/health", timeout=10) as answer:
            return json.loads(answer.read())

    assert "lastKnownTip" in await asyncio.to_thread(ogmios_health)
