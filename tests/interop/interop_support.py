"""Helpers of the interop suite: run a Node client script, and look at the chain through the devnet's
own Ogmios (JSON-RPC over HTTP POST) to check what the client did."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ci_rule import requirement_missing
from pycardano import Address, Network, PaymentSigningKey, PlutusV3Script, StakeSigningKey, plutus_script_hash
from uplc import flatten, parse

JS = Path(__file__).resolve().parent / "js"


def require_node() -> str:
    node = shutil.which("node")
    reason = ""
    if node is None:
        reason = "node (Node 20) is not on PATH"
    elif not (JS / "node_modules" / ".package-lock.json").exists():
        reason = f"the interop packages are not installed: run `make setup` (npm ci in {JS})"
    if reason:
        requirement_missing("the interop suite to run", reason)
    assert node is not None
    return node


def run_node(node: str, script: str, config: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run js/`script` with `config` as its one JSON argument; its last stdout line is its JSON report.

    A failed script fails the test with its output (the client's own error message)."""
    result = subprocess.run(
        [node, str(JS / script), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=JS,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{script} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{script} printed no JSON report:\n{result.stdout}\n{result.stderr}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def rpc(port: int, method: str, params: dict[str, Any] | None = None) -> Any:
    """One JSON-RPC request to the devnet's Ogmios by HTTP POST; raises AssertionError on an error."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params or {}, "id": 1}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            reply = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        reply = json.loads(exc.read())
    assert "error" not in reply, f"{method} answered an error: {reply['error']}"
    return reply["result"]


def kupo(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/kupo{path}", timeout=30) as answer:
        return json.loads(answer.read())


def utxo_at(port: int, address: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = rpc(port, "queryLedgerState/utxo", {"addresses": [address]})
    return result


def find_transactions(port: int, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The transactions of `ids` found on the chain, read block by block through chain sync."""
    import asyncio

    import websockets

    async def follow() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        async with websockets.connect(f"ws://127.0.0.1:{port}", max_size=None) as ws:
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "method": "findIntersection", "params": {"points": ["origin"]}})
            )
            await ws.recv()
            tip = rpc(port, "queryNetwork/tip")
            while True:
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "nextBlock"}))
                step = json.loads(await asyncio.wait_for(ws.recv(), 30))["result"]
                if step["direction"] == "forward":
                    block = step["block"]
                    for tx in block.get("transactions", []):
                        if tx["id"] in ids:
                            found[tx["id"]] = tx
                    if block.get("id") == tip.get("id"):
                        return found

    return asyncio.run(follow())


class Keys:
    """A payment and a stake key pair made here, so the test knows the client's address independently."""

    def __init__(self) -> None:
        self.payment = PaymentSigningKey.generate()
        self.stake = StakeSigningKey.generate()
        self.address = Address(
            self.payment.to_verification_key().hash(),
            self.stake.to_verification_key().hash(),
            network=Network.TESTNET,
        )
        self.enterprise = Address(self.payment.to_verification_key().hash(), network=Network.TESTNET)

    def json(self) -> dict[str, str]:
        return {
            "payment": bytes(self.payment.payload).hex(),
            "stake": bytes(self.stake.payload).hex(),
            "address": str(self.address),
            "enterprise": str(self.enterprise),
        }


def redeemer_is(expected: int, salt: str) -> PlutusV3Script:
    """A Plutus V3 validator that succeeds only when its redeemer is the integer `expected`.

    WHY not always-succeeds: a client that sent the wrong redeemer, or an evaluator that ran the wrong
    script, must fail. The V3 script context is `Constr 0 [txInfo, redeemer, scriptInfo]`; one script
    per purpose (spend 42, mint 43, withdraw 44) so each has its own hash, and a `salt` per client so
    the clients sharing one devnet never meet each other's script outputs."""
    redeemer = (
        "[ (builtin unIData) [ (force (builtin headList)) [ (force (builtin tailList)) "
        "[ (force (force (builtin sndPair))) [ (builtin unConstrData) ctx ] ] ] ] ]"
    )
    source = (
        "(program 1.1.0 [ (lam salt (lam ctx (force [ [ [ (force (builtin ifThenElse)) "
        f"[ [ (builtin equalsInteger) {redeemer} ] (con integer {expected}) ] ] "
        f'(delay (con unit ())) ] (delay (error)) ]))) (con string "{salt}") ])'
    )
    return PlutusV3Script(flatten(parse(source)))


def script_json(script: PlutusV3Script) -> dict[str, str]:
    return {"cbor": bytes(script).hex(), "hash": plutus_script_hash(script).payload.hex()}
