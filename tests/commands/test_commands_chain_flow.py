"""milestonectl through the daemon's real socket with the schedule live on the embedded devnet: the release
output summarises what it leaves out, the tables say what is still locked and when the rest vests, JSON
carries ISO times, and after the deadline the admin reclaims through unsigned files signed offline."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path
from typing import Any

from daemon_process import eventually, pass_reclaim_deadline, pass_vesting, until_claimable
from rich.console import Console

from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import (
    commit_demo_signatures,
    demo_config,
    register_demo_schedule,
    rpc,
)
from milestoned.shared.config import with_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1 = "M1-testnet-launch"
ADMIN = "addr_test1vz7x35nfy9eu9lnyyre0m4vc67g4qsvenklnlqn4r70qk9svf3rxr"


def _row(table: str, label: str) -> str:
    [line] = [line for line in table.splitlines() if label in line]
    return line


async def test_release_tables_and_reclaim_from_the_command_line(
    run: Any, examples: Path, quiet_daemon_logs: None
) -> None:
    with tempfile.TemporaryDirectory(prefix="mcf-", dir="/tmp") as folder:
        config = with_overrides(
            demo_config(Path(folder)),
            release={"auto": False, "wallet_key": str(Path(folder) / "operator.skey")},
        )
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)

            async def ctl(*args: str | Path) -> Any:
                return await asyncio.to_thread(run, "--socket", sock, *args)

            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
            await pass_vesting(daemon.devnet, sock, schedule_id, M1)
            await until_claimable(sock, schedule_id, M1)

            claimable = await ctl("claimable")
            waiting = [line for line in claimable.out.splitlines() if "waiting for oracles" in line]
            assert waiting and all(re.search(r"vests \d{4}-\d\d-\d\dT", line) for line in waiting)
            document = (await ctl("--json", "claimable")).json()
            assert all(r["vesting_time_iso"].endswith("Z") for r in document["result"]["allocations"])

            # the whole schedule (the only one: no id needed): M1 is released, the rest summarised
            dry = await ctl("release", "--dry-run")
            assert dry.code == 0, dry.err
            left_out = (await ctl("--json", "release", "--dry-run")).json()["result"]["plan"]["refused"]
            assert len(left_out) > 3
            assert sum("not released" in line for line in dry.out.splitlines()) < len(left_out)
            assert f"({len(left_out)} not included in all" in dry.out

            started = await ctl("--json", "release", "--no-wait")
            assert started.code == 0, started.out
            job_id = started.json()["result"]["job_id"]
            watched = await ctl("jobs", "watch", job_id)
            assert watched.code == 0 and "confirmed" in watched.out, watched.err
            [job] = [j for j in (await ctl("--json", "jobs")).json()["result"] if j["job_id"] == job_id]
            assert job["state"] == "done" and job["built"] == job["submitted"] >= 1
            assert job["confirmed"] == job["submitted"]
            subs = {s["tx_id"]: s["status"] for s in (await ctl("--json", "submissions")).json()["result"]}
            assert all(subs[tx_id] == "confirmed" for tx_id in job["tx_ids"])

            async def m1_released() -> bool:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return all(r["released"] for r in rows if r["milestone"] == M1)

            await eventually(m1_released, "the release to be seen on chain")
            table = (await ctl("milestones")).out
            assert "still locked" in table
            m1_state = next(
                m for m in (await ctl("--json", "milestones")).json()["result"] if m["milestone"] == M1
            )
            released = f"{m1_state['allocations_released']} ({m1_state['amount_released']})"
            assert m1_state["allocations_released"] > 0
            assert re.search(r"│\s*0 \(0\)\s*│\s*" + re.escape(released), _row(table, M1)), table

            # after the reclaim deadline: unsigned files, signed offline, submitted through the daemon
            await pass_reclaim_deadline(daemon.devnet, sock)
            not_admin = await ctl("reclaim")  # the daemon's operator wallet is not this schedule's admin
            assert not_admin.code == 1 and "not the schedule's admin" in not_admin.err
            unsigned = Path(folder) / "reclaim"
            exported = await ctl("reclaim", "--admin-address", ADMIN, "--unsigned-out", unsigned)
            assert exported.code == 0, exported.err
            files = sorted(unsigned.glob("reclaim-*.unsigned.json"))
            assert files
            signed = await ctl("tx", "sign", "--key", examples / "admin.skey", unsigned)
            assert signed.code == 0, signed.err
            submitted = await ctl("tx", "submit", unsigned)  # the folder: every *.signed.json, in order
            assert submitted.code == 0 and "submitted" in submitted.out, submitted.err

            async def reclaimed() -> Any:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return all(r["released"] or r["reclaimed"] for r in rows) and rows

            rows = await eventually(reclaimed, "the reclaim to be seen on chain")
            assert any(r["reclaimed"] for r in rows)
            final = (await ctl("milestones")).out
            assert all(re.search(r"│\s*0 \(0\)\s*│", _row(final, m["milestone"])) for m in rows)
