"""The whole flow through the daemon's socket on its embedded devnet: register on chain, the indexer sees
the allocations, signatures reach quorum, the release (manual and automatic) is built by the txbuilder,
signed by the operator wallet, confirmed on chain, and the submission is settled in the log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from milestoned.daemon.app import running_daemon
from milestoned.daemon.config import with_overrides
from milestoned.daemon.demo_wiring import commit_demo_signatures, demo_config, register_demo_schedule, rpc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1, M2 = "M1-testnet-launch", "M2-security-audit"


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 90.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def test_register_commit_release_through_the_socket() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mdr-", dir="/tmp") as folder:
        config = with_overrides(
            demo_config(Path(folder)),
            release={"auto": False, "wallet_key": str(Path(folder) / "operator.skey")},
        )
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)
            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            claim = await rpc(sock, "claimable", {"schedule_id": schedule_id})
            assert len(claim["allocations"]) == 10
            m1_refs = sorted(a["allocation"] for a in claim["allocations"] if a["milestone"] == M1)

            # before the oracles: the txbuilder refuses, naming the rule, and nothing is recorded
            head = (await rpc(sock, "status"))["log"]["position"]
            try:
                await rpc(sock, "release", {"schedule_id": schedule_id, "allocations": m1_refs[:1]})
                raise AssertionError("a release without a quorum was accepted")
            except RuntimeError as refused:
                assert "refused" in str(refused)
            assert not (await rpc(sock, "submissions"))

            committed = await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
            assert committed["committed"] == 2
            assert [m["quorum_reached"] for m in committed["milestones"]] == [True]

            async def vested() -> bool:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return all(r["claimable_now"] for r in rows if r["milestone"] == M1)

            await eventually(vested, "M1 to vest on chain time")
            dry = await rpc(
                sock, "release", {"schedule_id": schedule_id, "allocations": m1_refs, "dry_run": True}
            )
            assert dry["dry_run"] is True and dry["plan"]["transactions"]
            assert (await rpc(sock, "status"))["log"]["position"] >= head
            assert not (await rpc(sock, "submissions"))

            done = await rpc(sock, "release", {"schedule_id": schedule_id, "allocations": m1_refs})
            assert done["submitted"]

            async def released() -> bool:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return all(r["released"] for r in rows if r["milestone"] == M1)

            await eventually(released, "the release to be seen on chain")
            states = {m["milestone"]: m for m in await rpc(sock, "milestones", {"schedule_id": schedule_id})}
            assert states[M1]["allocations_released"] == len(m1_refs)
            assert states[M2]["allocations_released"] == 0

            async def settled() -> Any:
                subs = await rpc(sock, "submissions")
                return subs if subs and all(s["status"] == "confirmed" for s in subs) else None

            subs = await eventually(settled, "the submission to be confirmed in the log")
            assert sorted(r for s in subs for r in s["allocations"]) == m1_refs
            assert (await rpc(sock, "log.verify"))["ok"] is True
            assert (await rpc(sock, "log.replay"))["equal"] is True


async def test_auto_release_pays_beneficiaries_once_claimable() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mda-", dir="/tmp") as folder:
        config = demo_config(Path(folder))  # auto-release on, operator wallet in the folder
        assert config.release.auto
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)
            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)

            async def released() -> list[dict[str, Any]] | None:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                done = [r for r in rows if r["released"]]
                return done if len(done) == 3 else None

            rows = await eventually(released, "auto-release of the M1 allocations", timeout=120)
            assert {r["milestone"] for r in rows} == {M1}
            remaining = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
            assert not any(r["released"] for r in remaining if r["milestone"] != M1)
