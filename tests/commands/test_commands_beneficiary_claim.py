"""A beneficiary claims by themselves, end to end on the devnet, with a wallet that is not the operator's:
the attestations file exported once from the daemon, then only Ogmios; a key that signs here, and a
hardware-wallet-style path (unsigned files, signed offline, submitted to Ogmios)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from daemon_process import eventually, pass_vesting
from pycardano import Address, Network, PaymentSigningKey
from rich.console import Console

from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import (
    commit_demo_signatures,
    demo_config,
    demo_seed,
    register_demo_schedule,
    rpc,
)
from milestoned.shared.config import with_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1 = "M1-testnet-launch"
BOB = "addr_test1vrvjh8tqng0ut84meymth9et55c6ak9zcfenxtatulx24cckeja70"  # enterprise address
CAROL = (  # a base address: her payment key, someone's stake key
    "addr_test1qqcm4lt7ppeej795cx9susysp5rn45j6ra80qvku0gxm8r7wgqnts8c4mnthwhmay8zx3rm8umdmrased47h9qyxc22s0zpl6e"
)


def _wallet(folder: Path, name: str) -> tuple[Path, str]:
    key = PaymentSigningKey(demo_seed(name))
    path = folder / f"{name}.skey"
    key.save(str(path))
    path.chmod(0o600)
    return path, str(Address(key.to_verification_key().hash(), network=Network.TESTNET))


async def test_a_beneficiary_claims_without_the_daemon(run: Any, quiet_daemon_logs: None) -> None:
    with tempfile.TemporaryDirectory(prefix="mbc-", dir="/tmp") as name:
        folder = Path(name)
        config = with_overrides(
            demo_config(folder), release={"auto": False, "wallet_key": str(folder / "op.skey")}
        )
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)

            async def ctl(*args: str | Path) -> Any:
                return await asyncio.to_thread(run, *map(str, args))

            schedule_id = await register_demo_schedule(daemon, EXAMPLES, Console(quiet=True))
            url = daemon.devnet.url
            bob_key, bob_wallet = _wallet(folder, "beneficiary-2")
            assert bob_wallet == BOB
            carol_key, carol_wallet = _wallet(folder, "beneficiary-3")
            for wallet in (bob_wallet, carol_wallet):
                daemon.devnet.fund(wallet, 50_000_000)
            export = folder / "attestations.json"

            # before the oracles: the file exports, and claim says what is not claimable and why
            assert (await ctl("--socket", sock, "attestations", "export", "--out", export)).code == 0
            early = await ctl(
                "claim", "--attestations", export, "--ogmios", url, "--key", bob_key, "--dry-run"
            )
            assert early.code == 1 and "not claimable now" in early.out and "milestone_quorum" in early.out

            await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
            await pass_vesting(daemon.devnet, sock, schedule_id, M1)

            async def m1_claimable() -> bool:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return all(r["claimable_now"] for r in rows if r["milestone"] == M1)

            await eventually(m1_claimable, "M1 to vest on chain time")
            assert (await ctl("--socket", sock, "attestations", "export", "--out", export)).code == 0
            assert len(json.loads(export.read_text())["attestations"]) == 2
            await daemon.socket.stop()  # from here on: no daemon socket, only the file and Ogmios
            assert not sock.exists()

            # Bob signs here with his own key; his later milestone is listed as not claimable
            claimed = await ctl(
                "--json", "claim", "--attestations", export, "--ogmios", url, "--key", bob_key
            )
            assert claimed.code == 0, claimed.out
            report = claimed.json()["result"]
            assert report["payer"] == BOB and report["submitted"] and report["claimable"]
            assert report["not_claimable"] and all(r["rule"] for r in report["not_claimable"])

            # Carol: unsigned files for her hardware wallet, paid from her enterprise wallet, for the
            # base address the schedule names; signed offline, submitted straight to Ogmios
            unsigned = folder / "carol"
            built = await ctl(
                "claim", "--attestations", export, "--ogmios", url,
                "--address", carol_wallet, "--beneficiary", CAROL, "--unsigned-out", unsigned,
            )  # fmt: skip
            assert built.code == 0, built.err
            assert (await ctl("tx", "sign", "--key", carol_key, unsigned)).code == 0
            sent = await ctl("tx", "submit", "--ogmios", url, *sorted(unsigned.glob("*.signed.json")))
            assert sent.code == 0 and "submitted" in sent.out, sent.err

            async def released() -> bool:
                rows = await rpc_facts(daemon)
                return all(
                    r.released
                    for r in rows
                    if r.beneficiary in (BOB, CAROL) and r.milestone_id == M1.encode().hex()
                )

            await eventually(released, "both claims to be seen on chain")
            again = await ctl(
                "claim", "--attestations", export, "--ogmios", url, "--key", bob_key, "--dry-run"
            )
            assert again.code == 1 and "already released" in again.out


async def rpc_facts(daemon: Any) -> list[Any]:
    daemon.service.catch_up()
    return list(daemon.service.projections.claimable())
