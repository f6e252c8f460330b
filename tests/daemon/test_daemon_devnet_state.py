"""The embedded devnet keeps its chain beside the data directory, so a daemon restart continues it.

Before, every start of the embedded devnet was a new chain and the daemon recorded a rollback to the
origin. Now the chain lives in DATA_DIR.devnet: a restarted daemon finds its blocks, records no
rollback, and a client's funds are still there (issue 10, point 5).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import demo_config
from milestoned.eventlog.events import RolledBack


async def test_a_restarted_daemon_continues_the_embedded_devnet_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = demo_config(data)
    key = PaymentSigningKey(b"\x07" * 32)
    client = Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)
    async with running_daemon(config) as daemon:
        assert not daemon.devnet.restored
        daemon.devnet.fund(client, 9_000_000)
        block_ids = [block.id for block in daemon.devnet.chain.blocks]
        for _ in range(100):  # the follower has seen the chain (its cursor is past the origin)
            cursor = daemon.service.log.chain_cursor()
            if cursor is not None and not cursor.is_origin:
                break
            await asyncio.sleep(0.1)
    assert (tmp_path / "data.devnet" / "blocks.jsonl").is_file()

    async with running_daemon(config) as daemon:
        devnet = daemon.devnet
        assert devnet.restored
        assert [block.id for block in devnet.chain.blocks[: len(block_ids)]] == block_ids
        assert [o.amount for o in devnet.chain.utxo.values() if o.address == client] == [9_000_000]
        rollbacks = [e.event for e in daemon.service.log.iter_events() if isinstance(e.event, RolledBack)]
        assert rollbacks == []
