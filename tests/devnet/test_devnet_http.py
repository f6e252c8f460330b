"""JSON-RPC over HTTP POST on the WebSocket port, as Ogmios serves it (issue 14, point 8).

Before, a POST got an empty reply. Ogmios answers each POSTed request in a session of its own, with
status 200 (or 400 when the answer is an error) and the same JSON-RPC message a WebSocket client gets.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import websockets
from devnet_support import ALICE, OgmiosProbe

from milestoned.devnet.service import Devnet


def post(url: str, body: bytes) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        url.replace("ws://", "http://"), data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


async def rpc(devnet: Devnet, method: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params or {}, "id": "h1"}).encode()
    status, headers, answer = await asyncio.to_thread(post, devnet.url, body)
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    return status, answer


async def test_json_rpc_over_http_post_answers_as_over_websocket(devnet: Devnet) -> None:
    status, answer = await rpc(devnet, "queryNetwork/tip")
    assert status == 200 and answer["id"] == "h1" and answer["method"] == "queryNetwork/tip"
    async with websockets.connect(devnet.url) as socket:
        assert answer["result"] == await OgmiosProbe(socket).result("queryNetwork/tip")
    status, answer = await rpc(devnet, "queryLedgerState/utxo", {"addresses": [str(ALICE.address)]})
    assert status == 200 and len(answer["result"]) == 1
    # An error answer is status 400 with the JSON-RPC error, as Ogmios does.
    status, answer = await rpc(devnet, "submitTransaction", {"transaction": {"cbor": "84a0a0f5f6"}})
    assert status == 400 and answer["error"]["code"] == -32602
    status, _, answer = await asyncio.to_thread(post, devnet.url, b"{not json")
    assert status == 400 and answer["error"]["code"] == -32700
    # Chain sync in a session of its own: the first nextBlock rolls back to the origin.
    status, answer = await rpc(devnet, "nextBlock")
    assert status == 200 and answer["result"]["direction"] == "backward"


async def test_websocket_clients_are_unaffected_by_http_clients(devnet: Devnet) -> None:
    async with websockets.connect(devnet.url) as socket:
        probe = OgmiosProbe(socket)
        posted = asyncio.gather(*(rpc(devnet, "queryNetwork/blockHeight") for _ in range(5)))
        tip = await probe.result("queryNetwork/tip")
        answers = await posted
        assert {status for status, _ in answers} == {200}
        assert tip == await probe.result("queryNetwork/tip")
