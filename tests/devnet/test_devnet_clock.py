"""The slot clock never runs ahead of wall time unless `devnet/advanceTime` says so (issue 14, point 13).

Before, every `devnet/fund` or `devnet/produceBlock` forged at the next slot at once, so a burst of calls
left the tip ahead of wall time (60 calls: 63 slots ahead) and a transaction valid until "now + 30 s"
was refused as expired. Now such calls wait for a slot the chain has not used, and concurrent ones share
a block. The checks compare the tip with the devnet's own wall-clock slot, never with a duration.
"""

from __future__ import annotations

import asyncio

import websockets
from devnet_support import BOB, OgmiosProbe

from milestoned.devnet.service import run_devnet

SLOT_SECONDS = 0.05


async def test_a_burst_of_produce_block_never_runs_ahead_of_wall_time() -> None:
    async with (
        run_devnet(port=0, slot_length=SLOT_SECONDS) as devnet,
        websockets.connect(devnet.url) as socket,
    ):
        probe = OgmiosProbe(socket)
        for _ in range(12):
            produced = await probe.result("devnet/produceBlock")
            assert produced["block"]["slot"] <= devnet.wall_slot()
        tip = devnet.chain.tip
        assert tip is not None and tip.slot <= devnet.wall_slot()
        heights = [block.height for block in devnet.chain.blocks]
        assert heights == sorted(set(heights))


async def test_concurrent_funding_shares_blocks_and_stays_behind_wall_time() -> None:
    async with run_devnet(port=0, slot_length=SLOT_SECONDS) as devnet:
        sockets = [await websockets.connect(devnet.url) for _ in range(8)]
        try:
            calls = [
                OgmiosProbe(s).result("devnet/fund", {"address": str(BOB.address), "lovelace": 2_000_000 + i})
                for i, s in enumerate(sockets)
            ]
            results = await asyncio.gather(*calls)
        finally:
            for s in sockets:
                await s.close()
        by_id = {block.id.hex(): block for block in devnet.chain.blocks}
        for result in results:
            block = by_id[result["block"]["id"]]
            assert result["transaction"]["id"] in {tx.decoded.id_hex for tx in block.transactions}
        tip = devnet.chain.tip
        assert tip is not None and tip.slot <= devnet.wall_slot()


async def test_requests_waiting_for_the_same_slot_share_one_block() -> None:
    # Half-second slots: the requests below are all made well within the slot the first block took.
    async with run_devnet(port=0, slot_length=0.5) as devnet:
        await devnet.next_block()  # forged just after a slot began: the next requests must wait
        pending = [devnet.chain.fund(BOB.address, 2_000_000 + i, {}).id for i in range(3)]
        blocks = await asyncio.gather(*(devnet.next_block() for _ in range(3)))
        assert len({block.id for block in blocks}) == 1
        assert {tx.id for tx in blocks[0].transactions} == set(pending)


async def test_advance_time_is_the_only_way_ahead() -> None:
    async with (
        run_devnet(port=0, slot_length=SLOT_SECONDS) as devnet,
        websockets.connect(devnet.url) as socket,
    ):
        probe = OgmiosProbe(socket)
        before = devnet.wall_slot()
        await probe.result("devnet/advanceTime", {"slots": 1_000})
        produced = await probe.result("devnet/produceBlock")
        # The clock itself moved: the new block is 1,000 slots on, and still not ahead of the clock.
        assert produced["block"]["slot"] >= before + 1_000
        assert produced["block"]["slot"] <= devnet.wall_slot()


def test_the_python_api_waits_for_a_free_slot_too() -> None:
    async def scenario() -> None:
        async with run_devnet(port=0, slot_length=SLOT_SECONDS) as devnet:
            for _ in range(5):
                block = devnet.fund(BOB.address, 3_000_000)
                assert block.slot <= devnet.wall_slot()

    asyncio.run(scenario())
