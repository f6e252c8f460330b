"""`milestonectl reclaim` through the daemon's own wallet, when that wallet is the schedule's admin: after
the deadline the daemon builds, signs and submits, and the allocations come back to the admin."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from daemon_process import eventually
from rich.console import Console

from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import RECLAIM_OFFSET_MS, demo_config, register_demo_schedule, rpc
from milestoned.shared.config import with_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_the_daemon_reclaims_when_its_wallet_is_the_admin(
    run: Any, examples: Path, quiet_daemon_logs: None
) -> None:
    with tempfile.TemporaryDirectory(prefix="mro-", dir="/tmp") as name:
        folder = Path(name)
        wallet = folder / "wallet.skey"
        config = with_overrides(demo_config(folder), release={"auto": False, "wallet_key": str(wallet)})
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)
            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            # The demo set the operator's key up as the wallet; this operator uses the admin's instead.
            shutil.copy(examples / "admin.skey", wallet)
            wallet.chmod(0o600)
            daemon.service.wallet = None  # the wallet is read on first use; this is the first use now

            devnet = daemon.devnet
            devnet.advance(RECLAIM_OFFSET_MS // devnet.config.slot_length_ms + 100)
            devnet.produce_block()
            target = devnet.chain.slot

            async def tip_seen() -> bool:
                return ((await rpc(sock, "health"))["node_tip_slot"] or 0) >= target

            await eventually(tip_seen, "the daemon to see the new tip", timeout=30)
            done = await asyncio.to_thread(run, "--socket", sock, "reclaim")
            assert done.code == 0 and "submitted" in done.out, done.err

            async def reclaimed() -> bool:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return bool(rows) and all(r["reclaimed"] for r in rows)

            await eventually(reclaimed, "every allocation to be reclaimed on chain")
            subs = await rpc(sock, "submissions")
            assert sum(len(s["allocations"]) for s in subs) == 10  # tracked in submissions like a release
