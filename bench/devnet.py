"""Devnet benchmark: chain-sync throughput and submit-to-block latency, against `milestoned devnet`.

The devnet runs as its own process (as operators and the daemon's tests use it), so the client's and
the server's work do not share one event loop.

- `devnet.blocks_per_s`: blocks per second served to a chain-sync client keeping 100 `nextBlock`
  requests in flight (the official TypeScript client's default), from origin to the tip of a chain of
  1,000 blocks holding one transaction each. Printed next to its floor: decoding the same JSON stream
  and doing nothing else.
- `devnet.submit_to_block_s`: median time from sending `submitTransaction` to receiving, by chain sync,
  the block that holds the transaction, with the default 1 s slots, each submission arriving at a
  random moment of a slot (so about half a slot is expected).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from typing import Any

import websockets
from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    Transaction,
    TransactionBody,
    TransactionInput,
    TransactionOutput,
    TransactionWitnessSet,
)

from milestoned.txbuilder.signing import sign

BLOCKS = 1_000
IN_FLIGHT = 100
SUBMISSIONS = 10


class Client:
    """One WebSocket, requests answered in order (enough for a benchmark driving one protocol at a time)."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": method}
        if params is not None:
            request["params"] = params
        await self.connection.send(json.dumps(request))
        message = json.loads(await self.connection.recv())
        if "error" in message:
            raise RuntimeError(f"{method} failed: {message['error']}")
        return message["result"]


async def start_devnet() -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "milestoned.daemon.cli",
        "devnet",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        if not line:
            raise RuntimeError("the devnet exited before printing its URL")
        if line.startswith("Ogmios URL: "):
            return process, line.split(": ", 1)[1].strip()


async def fill_chain(url: str, address: str) -> None:
    async with websockets.connect(url) as connection:
        client = Client(connection)
        for _ in range(BLOCKS):
            # The slot clock never runs ahead of wall time on its own, so `devnet/fund` would wait a whole
            # slot for each block; moving the clock one slot on first builds the chain at once.
            await client.call("devnet/advanceTime", {"slots": 1})
            await client.call("devnet/fund", {"address": address, "lovelace": 2_000_000})


async def follow(url: str) -> tuple[int, float, list[str]]:
    """Chain-sync from origin to the tip with IN_FLIGHT requests pipelined; (blocks, seconds, frames)."""
    frames: list[str] = []
    async with websockets.connect(url, max_size=None) as connection:
        client = Client(connection)
        tip = await client.call("queryNetwork/blockHeight")
        await client.call("findIntersection", {"points": ["origin"]})
        request = json.dumps({"jsonrpc": "2.0", "method": "nextBlock"})
        expected = tip + 1  # the rollback to origin, then every block
        started = time.perf_counter()
        sent = 0
        while sent < min(IN_FLIGHT, expected):
            await connection.send(request)
            sent += 1
        blocks = 0
        for _ in range(expected):
            frame = await connection.recv()
            frames.append(frame if isinstance(frame, str) else frame.decode())
            if '"direction":"forward"' in frames[-1]:
                blocks += 1
            if sent < expected:
                await connection.send(request)
                sent += 1
        elapsed = time.perf_counter() - started
    return blocks, elapsed, frames


def decode_floor(frames: list[str]) -> float:
    started = time.perf_counter()
    for frame in frames:
        json.loads(frame)
    return time.perf_counter() - started


def payment(
    key: PaymentSigningKey, address: Address, source: tuple[TransactionInput, int], fee: int = 200_000
) -> Transaction:
    txin, lovelace = source
    body = TransactionBody(inputs=[txin], outputs=[TransactionOutput(address, lovelace - fee)], fee=fee)
    return sign(Transaction(body, TransactionWitnessSet()), [key])


async def submit_latencies(url: str) -> list[float]:
    key = PaymentSigningKey.generate()
    address = Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)
    async with (
        websockets.connect(url, max_size=None) as control_socket,
        websockets.connect(url) as sync_socket,
    ):
        control, follower = Client(control_socket), Client(sync_socket)
        funded = await control.call("devnet/fund", {"address": str(address), "lovelace": 1_000_000_000})
        source = (
            TransactionInput.from_primitive([bytes.fromhex(funded["transaction"]["id"]), 0]),
            1_000_000_000,
        )
        tip = await follower.call("queryNetwork/tip")
        await follower.call("findIntersection", {"points": [tip]})
        await follower.call("nextBlock")
        latencies = []
        for _ in range(SUBMISSIONS):
            tx = payment(key, address, source)
            await asyncio.sleep(random.uniform(0, 1))  # arrive at a random point of the 1 s slot
            started = time.perf_counter()
            await control.call("submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})
            while True:
                step = await follower.call("nextBlock")
                if step["direction"] == "forward" and any(
                    t["id"] == str(tx.id) for t in step["block"]["transactions"]
                ):
                    break
            latencies.append(time.perf_counter() - started)
            source = (TransactionInput(tx.id, 0), tx.transaction_body.outputs[0].amount)
    return latencies


async def measure() -> dict[str, float]:
    process, url = await start_devnet()
    try:
        sink = Address(
            PaymentVerificationKey.from_signing_key(PaymentSigningKey.generate()).hash(),
            network=Network.TESTNET,
        )
        filling = time.perf_counter()
        await fill_chain(url, str(sink))
        print(
            f"chain of {BLOCKS} blocks (one transaction each) built in {time.perf_counter() - filling:.1f} s"
        )
        blocks, elapsed, frames = await follow(url)
        floor = decode_floor(frames)
        latencies = await submit_latencies(url)
    finally:
        process.terminate()
        await process.wait()
    blocks_per_s = blocks / elapsed
    median = statistics.median(latencies)
    print(
        f"devnet.blocks_per_s        {blocks_per_s:10.0f} blocks/s  ({blocks} blocks, {IN_FLIGHT} in flight)"
    )
    print(f"  floor: json-decoding the same stream only {blocks / floor:10.0f} blocks/s")
    print(
        f"devnet.submit_to_block_s   {median:10.3f} s median over {SUBMISSIONS} "
        f"(min {min(latencies):.3f}, max {max(latencies):.3f}; 1 s slots: a block comes at the next slot)"
    )
    return {"devnet.blocks_per_s": blocks_per_s, "devnet.submit_to_block_s": median}


def run() -> dict[str, float]:
    return asyncio.run(measure())


if __name__ == "__main__":
    run()
