"""Chain-sync throughput of our Ogmios client next to its floor, on mainnet-shaped blocks.

Setup: a replay server in its own process (like Ogmios next to the daemon) serves pre-encoded `nextBlock`
frames (RollForward results from `milestoned.ogmios.synthetic`: ~100 KB of JSON, 20–60 transactions,
multi-asset outputs, inline datums and datum hashes, reference scripts, redeemers, mint, metadata,
failed-script transactions; see that module's docstring), splicing in each request's id.

Clients, each with 100 `nextBlock` requests in flight:
- floor: the fastest of three receive-only clients that send the same requests and receive the frames,
  nothing else: websockets' `recv()` with one write per request, the same with requests written in
  batches like our chain sync's (`_floor`), and our own transport, websockets' parser handing each
  message to a callback that only counts it (`_floor_handoff`); so that neither batching nor our
  transport can make the floor look slow;
- ours: `OgmiosClient` chain sync: id dispatch, typed RollForward (header typed, transactions on demand);
- ours, fully typed: the same, also typing every transaction/output/value of every block.

Metrics: `ogmios.floor_blocks_per_s`, `ogmios.chain_sync_blocks_per_s`, `ogmios.ratio_to_floor` and
`ogmios.fully_typed_blocks_per_s` (the `indexer.*` figures are `bench/indexer.py`'s: the whole indexer).
Each figure is the best of several runs (the machine is shared; the best run is the least disturbed).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

BLOCKS_PER_RUN = 2000
DISTINCT_BLOCKS = 120
RUNS = 5
IN_FLIGHT = 100
SEED = 2026


def _frames(seed: int) -> list[tuple[bytes, bytes]]:
    """(prefix, suffix) of each frame, so that `prefix + id + suffix` is the response to request `id`."""
    from milestoned.ogmios.synthetic import synthetic_roll_forward_results

    frames = []
    for result in synthetic_roll_forward_results(DISTINCT_BLOCKS, seed=seed):
        body = orjson.dumps({"jsonrpc": "2.0", "method": "nextBlock", "result": result})
        frames.append((body[:-1] + b',"id":', b"}"))
    return frames


async def _serve(port_out: Any, blocks_per_connection: int, seed: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    frames = _frames(seed)
    sizes = [len(prefix) + len(suffix) for prefix, suffix in frames]
    rollback = (
        b'{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"backward","point":"origin",'
        b'"tip":"origin"},"id":'
    )

    async def handle(websocket: ServerConnection) -> None:
        served = 0
        pending_rollback = True
        async for raw in websocket:
            request = orjson.loads(raw)
            rid = orjson.dumps(request.get("id"))
            method = request["method"]
            if method == "findIntersection":
                pending_rollback = True
                await websocket.send(
                    b'{"jsonrpc":"2.0","method":"findIntersection","result":{"intersection":"origin",'
                    b'"tip":"origin"},"id":' + rid + b"}",
                    text=True,
                )
            elif method == "nextBlock":
                if pending_rollback:
                    pending_rollback = False
                    await websocket.send(rollback + rid + b"}", text=True)
                elif served < blocks_per_connection:
                    prefix, suffix = frames[served % len(frames)]
                    served += 1
                    await websocket.send(prefix + rid + suffix, text=True)

    async with serve(handle, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port_out.put((next(iter(server.sockets)).getsockname()[1], sum(sizes) / len(sizes)))
        await asyncio.Future()


def _server_process(port_out: Any, blocks_per_connection: int, seed: int) -> None:
    asyncio.run(_serve(port_out, blocks_per_connection, seed))


def _request(request_id: int) -> bytes:
    """The very bytes our client sends for a `nextBlock` (see `OgmiosConnection.queue_stream_requests`)."""
    return b'{"jsonrpc":"2.0","method":"nextBlock","id":%d}' % request_id


async def _floor(url: str, blocks: int, refill_batch: int = 1) -> float:
    """A client that only receives: the same frames over the same library, after the same requests.

    `refill_batch=1` writes each request on its own as an answer comes in (plain `websocket.send`);
    a larger batch tops the pipeline up the way our chain sync does (requests queued into the WebSocket
    and written together once `refill_batch` are due, or when nothing is left to read). `floor()` takes
    the faster of the two, so the floor never flatters us.
    """
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, compression=None, proxy=None) as websocket:
        await websocket.send(
            b'{"jsonrpc":"2.0","method":"findIntersection","params":{"points":["origin"]},"id":0}', text=True
        )
        await websocket.recv(decode=False)
        protocol, transport = websocket.protocol, websocket.transport
        start = time.perf_counter()
        total = blocks + 1  # +1: the rollback to the intersection
        sent = received = 0
        if refill_batch == 1:
            while sent < IN_FLIGHT:
                sent += 1
                await websocket.send(_request(sent), text=True)
            while received < total:
                await websocket.recv(decode=False)
                received += 1
                if sent < total:
                    sent += 1
                    await websocket.send(_request(sent), text=True)
        else:
            due = IN_FLIGHT
            while received < total:
                due = min(due, total - sent)
                if due >= refill_batch or (due and sent == received):
                    for _ in range(due):
                        sent += 1
                        protocol.send_text(_request(sent))
                    transport.write(b"".join(protocol.data_to_send()))
                    due = 0
                await websocket.recv(decode=False)
                received += 1
                due += 1
        return blocks / (time.perf_counter() - start)


async def _floor_handoff(url: str, blocks: int, refill_batch: int) -> float:
    """The receive-only client on our transport: websockets' parser hands each message to a callback
    (`MessageHandoffConnection`, as our client does), which only counts it and tops the pipeline up in
    batches; no task ever wakes per message. The leanest way to receive these frames we know of."""
    from websockets.asyncio.client import connect

    from milestoned.ogmios.connection import MessageHandoffConnection

    loop = asyncio.get_running_loop()
    async with connect(
        url, max_size=None, compression=None, proxy=None, create_connection=MessageHandoffConnection
    ) as websocket:
        assert isinstance(websocket, MessageHandoffConnection)
        await websocket.send(
            b'{"jsonrpc":"2.0","method":"findIntersection","params":{"points":["origin"]},"id":0}', text=True
        )
        await websocket.recv(decode=False)
        protocol, transport = websocket.protocol, websocket.transport
        total = blocks + 1  # +1: the rollback to the intersection
        done: asyncio.Future[None] = loop.create_future()
        counts = {"sent": 0, "received": 0, "due": 0}

        def top_up(count: int) -> None:
            for _ in range(count):
                counts["sent"] += 1
                protocol.send_text(_request(counts["sent"]))
            transport.write(b"".join(protocol.data_to_send()))

        def on_message(_frame: bytes) -> None:
            counts["received"] += 1
            if counts["received"] == total:
                done.set_result(None)
                return
            due = min(counts["due"] + 1, total - counts["sent"])
            if due >= refill_batch or (due and counts["sent"] == counts["received"]):
                top_up(due)
                due = 0
            counts["due"] = due

        websocket.on_message = on_message
        start = time.perf_counter()
        top_up(min(IN_FLIGHT, total))
        await done
        return blocks / (time.perf_counter() - start)


async def floor_of(url: str, blocks: int) -> tuple[float, float, float]:
    """(floor, per-request floor, batched floor): the fastest receive-only client is the floor.

    Three receive-only clients: websockets' `recv()` with one write per request, the same with requests
    written in batches like our chain sync, and our own transport (`_floor_handoff`), batched. The
    batched figure printed is the faster of the last two.
    """
    from milestoned.ogmios.chainsync import default_refill_batch

    single = await _floor(url, blocks, 1)
    batched = max(
        await _floor(url, blocks, default_refill_batch(IN_FLIGHT)),
        await _floor_handoff(url, blocks, default_refill_batch(IN_FLIGHT)),
    )
    return max(single, batched), single, batched


async def _ours(url: str, blocks: int, fully_typed: bool) -> float:
    from milestoned.ogmios.client import OgmiosClient
    from milestoned.ogmios.model import ORIGIN, RollForward

    async with await OgmiosClient.connect(url, in_flight=IN_FLIGHT) as client:
        await client.find_intersection([ORIGIN])
        start = time.perf_counter()
        seen = transactions = 0
        while seen < blocks:
            result = await client.next_block()
            if isinstance(result, RollForward):
                seen += 1
                if fully_typed:
                    transactions += len(result.block.transactions)
        elapsed = time.perf_counter() - start
        # The pipeline overshoots the served chain by up to IN_FLIGHT requests; leave them unanswered.
        return blocks / elapsed


@contextlib.contextmanager
def replay_server(
    target: Callable[[Any, int, int], None], blocks: int, seed: int, timeout: float
) -> Iterator[tuple[str, float]]:
    """Run `target` (a replay server) in its own process, so that it does not share a core's time with
    the client measured; yields its URL and mean frame size, and stops it whatever happens."""
    context = multiprocessing.get_context("spawn")
    port_out = context.Queue()
    server = context.Process(target=target, args=(port_out, blocks, seed), daemon=True)
    server.start()
    try:
        port, mean_frame = port_out.get(timeout=timeout)
        yield f"ws://127.0.0.1:{port}", mean_frame
    finally:
        server.terminate()
        server.join(5)


def run() -> dict[str, float]:
    from milestoned.ogmios.frames import simdjson_available

    with replay_server(_server_process, BLOCKS_PER_RUN, SEED, timeout=120) as (url, mean_frame):
        floor = single = batched = ours = typed = 0.0
        for _ in range(RUNS):
            best, one, many = asyncio.run(floor_of(url, BLOCKS_PER_RUN))
            floor, single, batched = max(floor, best), max(single, one), max(batched, many)
            ours = max(ours, asyncio.run(_ours(url, BLOCKS_PER_RUN, fully_typed=False)))
            typed = max(typed, asyncio.run(_ours(url, BLOCKS_PER_RUN, fully_typed=True)))
    ratio = ours / floor
    print(
        f"mainnet-shaped blocks: {DISTINCT_BLOCKS} distinct, mean frame {mean_frame / 1000:.1f} KB; "
        f"{BLOCKS_PER_RUN} blocks per run, {IN_FLIGHT} in flight, best of {RUNS}; "
        f"simdjson {'on' if simdjson_available() else 'OFF (pip install pysimdjson)'}"
    )
    print(
        f"  floor (receive only)            {floor:10.0f} blocks/s   (one write per request {single:.0f}, "
        f"batched {batched:.0f})"
    )
    print(f"  our chain sync (typed results)  {ours:10.0f} blocks/s   ratio to floor {ratio:.2f}")
    print(f"  ... every transaction typed     {typed:10.0f} blocks/s   ratio to floor {typed / floor:.2f}")
    print("  targets: >= 1500 blocks/s and >= 0.5 of the floor")
    print(f"  load average: {os.getloadavg()[0]:.2f} (other work on the machine skews these figures)")
    return {
        "ogmios.floor_blocks_per_s": floor,
        "ogmios.chain_sync_blocks_per_s": ours,
        "ogmios.ratio_to_floor": ratio,
        "ogmios.fully_typed_blocks_per_s": typed,
    }


if __name__ == "__main__":
    run()
