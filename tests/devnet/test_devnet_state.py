"""`--state DIR`: a devnet started again on the same directory continues the same chain (issue 10, point 5).

Restarts, recovery and audits are tested on one chain, so after a restart a follower syncing from the
origin must see exactly the blocks it saw before, a client's UTxOs must still be there and spendable,
the faucet must keep its key (its token policy), and the slot clock must continue, not start over.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import websockets
from devnet_support import ALICE, BOB, OgmiosProbe, funds_of, payment, signed
from pycardano import TransactionOutput

from milestoned.devnet.service import Devnet, run_devnet
from milestoned.devnet.store import BLOCKS_FILE, StateError
from milestoned.devnet.transaction import decode_transaction

FUNDS = {str(ALICE.address): 1_000_000_000_000}


async def sync_from_origin(probe: OgmiosProbe) -> list[Any]:
    """Every block of the chain as chain-sync delivers it from the origin."""
    await probe.result("findIntersection", {"points": ["origin"]})
    assert (await probe.result("nextBlock"))["direction"] == "backward"
    blocks = []
    while True:
        step = await probe.result("nextBlock")
        assert step["direction"] == "forward"
        blocks.append(step["block"])
        if step["block"]["id"] == step["tip"]["id"]:
            return blocks


async def snapshot(devnet: Devnet) -> dict[str, Any]:
    async with websockets.connect(devnet.url, max_size=None) as socket:
        probe = OgmiosProbe(socket)
        return {
            "blocks": await sync_from_origin(probe),
            "bob": await probe.result("queryLedgerState/utxo", {"addresses": [str(BOB.address)]}),
            "start": await probe.result("queryNetwork/startTime"),
            "utxo": await probe.result("queryLedgerState/utxo"),
        }


async def test_a_restarted_devnet_continues_the_same_chain(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    async with run_devnet(port=0, clock=False, funds=FUNDS, state_dir=state) as devnet:
        assert not devnet.restored
        devnet.fund(BOB.address, 7_000_000)
        tx = signed(payment(devnet, ALICE, [TransactionOutput(BOB.address, 3_000_000)]), ALICE)
        devnet.chain.submit(decode_transaction(tx.to_cbor()))
        devnet.produce_block()
        devnet.produce_block()
        devnet.rollback(1)  # a fork: the kept chain is the one after the rollback
        devnet.advance(100)
        devnet.produce_block()
        policy = devnet.faucet.policy_id
        before = await snapshot(devnet)
        tip_slot = devnet.chain.tip.slot if devnet.chain.tip else 0
    assert len(before["bob"]) == 2

    async with run_devnet(port=0, clock=False, state_dir=state) as devnet:
        assert devnet.restored
        after = await snapshot(devnet)
        assert after == before
        assert devnet.faucet.policy_id == policy
        assert devnet.chain.slot >= tip_slot
        # The chain grows from the old tip; the faucet and the client's funds still work.
        old_tip = devnet.chain.tip
        block = devnet.fund(BOB.address, 4_000_000, {b"TOKEN": 1})
        assert old_tip is not None and block.ancestor == old_tip.id and block.slot > old_tip.slot
        bob_input, _ = funds_of(devnet, BOB)
        spend = signed(payment(devnet, BOB, [TransactionOutput(ALICE.address, 2_000_000)], fee=500_000), BOB)
        async with websockets.connect(devnet.url, max_size=None) as socket:
            result = await OgmiosProbe(socket).result(
                "submitTransaction", {"transaction": {"cbor": spend.to_cbor_hex()}}
            )
        assert result["transaction"]["id"] == str(spend.id)
        devnet.produce_block()
        assert bob_input not in devnet.chain.utxo
        grown = await snapshot(devnet)

    async with run_devnet(port=0, clock=False, state_dir=state) as devnet:
        assert await snapshot(devnet) == grown


async def test_the_slot_clock_and_advanced_time_continue(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    async with run_devnet(port=0, clock=False, state_dir=state) as devnet:
        first_offset = devnet.wall_slot()
        devnet.advance(5_000)
        devnet.produce_block()
        slot = devnet.chain.slot
    async with run_devnet(port=0, clock=False, state_dir=state) as devnet:
        # The advanced time is kept: wall time plus the 5,000 slots, never before the old tip.
        assert devnet.wall_slot() >= first_offset + 5_000
        assert devnet.chain.slot >= slot
        assert devnet.chain.tip is not None and devnet.chain.tip.slot == slot


async def test_a_state_directory_refuses_another_slot_length_or_genesis(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    async with run_devnet(port=0, clock=False, funds=FUNDS, state_dir=state):
        pass
    with pytest.raises(StateError, match="slot-length 1"):
        async with run_devnet(port=0, clock=False, slot_length=0.5, state_dir=state):
            pass
    with pytest.raises(StateError, match="other genesis funds"):
        async with run_devnet(port=0, clock=False, funds={str(BOB.address): 5}, state_dir=state):
            pass
    # The same genesis again, or none at all, continues the chain.
    async with run_devnet(port=0, clock=False, funds=FUNDS, state_dir=state) as devnet:
        assert devnet.restored


async def test_a_block_cut_short_by_a_crash_is_dropped(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    async with run_devnet(port=0, clock=False, state_dir=state) as devnet:
        devnet.fund(BOB.address, 7_000_000)
        blocks = len(devnet.chain.blocks)
    with open(state / BLOCKS_FILE, "ab") as handle:
        handle.write(b'{"height": 99, "slot"')
    async with run_devnet(port=0, clock=False, state_dir=state) as devnet:
        assert len(devnet.chain.blocks) == blocks


async def test_blocks_without_their_network_file_are_refused(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    async with run_devnet(port=0, clock=False, state_dir=state):
        pass
    (state / "network.json").unlink()
    with pytest.raises(StateError, match=r"holds blocks but no network\.json"):
        async with run_devnet(port=0, clock=False, state_dir=state):
            pass


async def test_devnet_command_with_state_keeps_the_chain(tmp_path: Path) -> None:
    """`milestoned devnet --state DIR`, stopped and started again: the same blocks from the origin."""
    state = tmp_path / "chain"

    async def run_once(fund: bool) -> list[Any]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "milestoned.daemon.cli", "devnet", "--port", "0", "--state", str(state)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("state: "):
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
            assert line, f"the devnet exited early: {''.join(lines)}"
            lines.append(line)
        url = next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("Ogmios URL: "))
        async with websockets.connect(url, max_size=None) as socket:
            probe = OgmiosProbe(socket)
            if fund:
                await probe.result("devnet/fund", {"address": str(BOB.address), "lovelace": 3_000_000})
            blocks = await sync_from_origin(probe)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
        assert ("continued" in lines[-1]) is not fund, lines[-1]
        return blocks

    first = await run_once(fund=True)
    second = await run_once(fund=False)
    assert second[: len(first)] == first
