"""The whole flow through the daemon's socket on its embedded devnet: register on chain, the indexer sees
the allocations, signatures reach quorum, the release (manual and automatic) is built by the txbuilder,
signed by the operator wallet, confirmed on chain, and the submission is settled in the log."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from daemon_process import SETTLE_SECONDS, eventually, pass_vesting, until_claimable
from rich.console import Console

from milestoned.daemon.app import RunningDaemon, running_daemon
from milestoned.daemon.demo_wiring import commit_demo_signatures, demo_config, register_demo_schedule, rpc
from milestoned.ogmios.connection import OgmiosConnection
from milestoned.shared.config import with_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1, M2 = "M1-testnet-launch", "M2-security-audit"


@contextlib.asynccontextmanager
async def daemon_releasing_on_request(prefix: str) -> AsyncIterator[tuple[RunningDaemon, Path]]:
    """The daemon on its embedded devnet with an operator wallet and auto-release off, and its socket."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir="/tmp") as folder:
        config = with_overrides(
            demo_config(Path(folder)),
            release={
                "auto": False,
                "wallet_key": str(Path(folder) / "operator.skey"),
                "settle_seconds": SETTLE_SECONDS,
            },
            devnet={"state_dir": str(Path(folder) / "devnet")},  # the chain goes with the folder
        )
        async with running_daemon(config) as daemon:
            yield daemon, Path(config.socket.path)


async def test_register_commit_release_through_the_socket() -> None:
    async with daemon_releasing_on_request("mdr-") as (daemon, sock):
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

        await pass_vesting(daemon.devnet, sock, schedule_id, M1)
        await until_claimable(sock, schedule_id, M1)
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

        # A fork drops the release's block, and no peer brings the transaction back: the payout is
        # undone, the submission is live again (so its allocations are not released twice) ...
        [tx_id] = {s["tx_id"] for s in subs}
        chain = daemon.devnet.chain
        daemon.devnet.hold_blocks = True  # no idle block between counting the depth and rolling back
        [depth] = [
            len(chain.blocks) - at
            for at, block in enumerate(chain.blocks)
            if any(tx.decoded.id_hex == tx_id for tx in block.transactions)
        ]
        async with await OgmiosConnection.open(daemon.devnet.url) as devnet:
            await devnet.request("devnet/rollback", {"blocks": depth, "resubmit": False})
            daemon.devnet.hold_blocks = False

            async def reverted() -> Any:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                subs = await rpc(sock, "submissions")
                m1 = [r for r in rows if r["milestone"] == M1]
                undone = not any(r["released"] for r in m1) and all(r["in_flight"] for r in m1)
                return subs if undone and [s["status"] for s in subs] == ["submitted"] else None

            [live] = await eventually(reverted, "the confirmation to be reverted after the rollback")
            assert "rolled back" in live["reason"]
            try:
                await rpc(sock, "release", {"schedule_id": schedule_id, "allocations": m1_refs})
                raise AssertionError("allocations of a live submission were released again")
            except RuntimeError as refused:
                assert "not_in_flight" in str(refused)

            # ... until its validity ends on chain: then it has expired and the release can be redone
            await devnet.request("devnet/advanceTime", {"slots": live["validity_upper_slot"]})

            async def expired() -> Any:
                subs = await rpc(sock, "submissions")
                return subs if [s["status"] for s in subs] == ["expired"] else None

            await eventually(expired, "the reverted submission to expire")
        again = await rpc(sock, "release", {"schedule_id": schedule_id, "allocations": m1_refs})
        assert again["submitted"]
        await eventually(released, "the release to be seen on chain again")

        async def confirmed_again() -> Any:
            subs = await rpc(sock, "submissions", {"status": "confirmed"})
            return subs if len(subs) == 1 and subs[0]["tx_id"] != tx_id else None

        await eventually(confirmed_again, "the new release to be confirmed")
        assert (await rpc(sock, "log.replay"))["equal"] is True


async def test_auto_release_pays_beneficiaries_once_claimable() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mda-", dir="/tmp") as folder:
        # Auto-release on, operator wallet in the folder; the devnet's chain goes with the folder too.
        config = with_overrides(demo_config(Path(folder)), devnet={"state_dir": str(Path(folder) / "devnet")})
        assert config.release.auto
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)
            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
            await pass_vesting(daemon.devnet, sock, schedule_id, M1)

            async def released() -> list[dict[str, Any]] | None:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                done = [r for r in rows if r["released"]]
                return done if len(done) == 3 else None

            rows = await eventually(released, "auto-release of the M1 allocations", timeout=120)
            assert {r["milestone"] for r in rows} == {M1}
            remaining = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
            assert not any(r["released"] for r in remaining if r["milestone"] != M1)


async def test_a_release_signed_elsewhere_is_tracked_when_submitted_through_the_daemon() -> None:
    """A release built and signed outside the daemon (a beneficiary's own wallet, an offline signer) and
    handed to `tx.submit` is recorded like the daemon's own: its allocations are live (not released a
    second time, by the daemon or by another transaction) until it is confirmed."""
    import hashlib

    from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

    from milestoned.domain.schedule_file import parse_schedule_document
    from milestoned.txbuilder.release import build_release
    from milestoned.txbuilder.signing import sign, signed_envelope

    async with daemon_releasing_on_request("mdt-") as (daemon, sock):
        schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
        await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
        claim = await rpc(sock, "claimable", {"schedule_id": schedule_id})
        m1_refs = sorted(a["allocation"] for a in claim["allocations"] if a["milestone"] == M1)

        await pass_vesting(daemon.devnet, sock, schedule_id, M1)
        await until_claimable(sock, schedule_id, M1)

        # a wallet of its own, outside the daemon, builds and signs two competing releases
        key = PaymentSigningKey(hashlib.sha256(b"milestoned/test/elsewhere").digest())
        payer = Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)
        daemon.devnet.fund(payer, 50_000_000)
        service = daemon.service
        definition = parse_schedule_document(dict(service.index.schedules[schedule_id].definition))
        chain = await service.link.tx_chain()

        async def release_elsewhere(refs: list[str]) -> dict[str, str]:
            signatures = service.index.signatures_by_milestone(schedule_id)
            plan = await build_release(chain, definition, signatures, payer, allocations=refs)
            [built] = plan.txs
            return signed_envelope(sign(built, [key]))

        first = await release_elsewhere(m1_refs[:2])
        competing = await release_elsewhere(m1_refs[1:])  # shares m1_refs[1] with the first
        daemon.devnet.hold_blocks = True  # the first stays in the mempool while we look
        [tx_id] = (await rpc(sock, "tx.submit", {"transactions": [first]}))["submitted"]
        [live] = await rpc(sock, "submissions")
        assert (live["tx_id"], live["status"]) == (tx_id, "submitted")
        assert sorted(live["allocations"]) == m1_refs[:2]

        try:
            await rpc(sock, "tx.submit", {"transactions": [competing]})
            raise AssertionError("a transaction spending an allocation of a live submission was sent")
        except RuntimeError as refused:
            assert "not_in_flight" in str(refused) and tx_id in str(refused)
        try:
            await rpc(sock, "release", {"schedule_id": schedule_id, "allocations": m1_refs[:1]})
            raise AssertionError("the daemon released an allocation of a live submission")
        except RuntimeError as refused:
            assert "not_in_flight" in str(refused)
        assert [s["tx_id"] for s in await rpc(sock, "submissions")] == [tx_id]  # nothing else recorded
        daemon.devnet.hold_blocks = False

        async def confirmed() -> Any:
            subs = await rpc(sock, "submissions")
            return subs if [s["status"] for s in subs] == ["confirmed"] else None

        await eventually(confirmed, "the release signed elsewhere to be confirmed")
        rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        assert sorted(r["allocation"] for r in rows if r["released"]) == m1_refs[:2]
