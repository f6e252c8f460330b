"""`milestonectl reclaim` through the daemon's own wallet, when that wallet is the schedule's admin: after
the deadline the daemon builds, signs and submits, and the allocations come back to the admin."""

from __future__ import annotations

from pathlib import Path

from daemon_process import DemoDaemon, eventually, pass_reclaim_deadline

from milestoned.daemon.demo_wiring import rpc


async def test_the_daemon_reclaims_when_its_wallet_is_the_admin(
    demo_daemon: DemoDaemon, examples: Path
) -> None:
    daemon, sock, schedule_id = demo_daemon.daemon, demo_daemon.sock, demo_daemon.schedule_id
    # The demo set the operator's key up as the wallet; this operator uses the admin's instead.
    demo_daemon.operator_is_admin(examples)

    await pass_reclaim_deadline(daemon.devnet, sock)
    done = await demo_daemon.ctl("--socket", sock, "reclaim")
    assert done.code == 0 and "submitted" in done.out, done.err

    async def reclaimed() -> bool:
        rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        return bool(rows) and all(r["reclaimed"] for r in rows)

    await eventually(reclaimed, "every allocation to be reclaimed on chain")
    subs = await rpc(sock, "submissions")
    assert sum(len(s["allocations"]) for s in subs) == 10  # tracked in submissions like a release
