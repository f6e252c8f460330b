"""A beneficiary claims by themselves, end to end on the devnet, with a wallet that is not the operator's:
the attestations file exported once from the daemon, then only Ogmios; a key that signs here, and a
hardware-wallet-style path (unsigned files, signed offline, submitted to Ogmios)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daemon_process import BOB, CAROL, DemoDaemon, eventually, pass_vesting, until_claimable

from milestoned.daemon.demo_wiring import commit_demo_signatures

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1 = "M1-testnet-launch"


async def test_a_beneficiary_claims_without_the_daemon(demo_daemon: DemoDaemon) -> None:
    daemon, folder, sock = demo_daemon.daemon, demo_daemon.folder, demo_daemon.sock
    schedule_id, ctl = demo_daemon.schedule_id, demo_daemon.ctl
    url = daemon.devnet.url
    bob_key, bob_wallet = demo_daemon.key("beneficiary-2")
    assert bob_wallet == BOB
    carol_key, carol_wallet = demo_daemon.key("beneficiary-3")
    for wallet in (bob_wallet, carol_wallet):
        daemon.devnet.fund(wallet, 50_000_000)
    export = folder / "attestations.json"

    # before the oracles: the file exports, and claim says what is not claimable and why
    assert (await ctl("--socket", sock, "attestations", "export", "--out", export)).code == 0
    early = await ctl("claim", "--attestations", export, "--ogmios", url, "--key", bob_key, "--dry-run")
    assert early.code == 1 and "not claimable now" in early.out and "milestone_quorum" in early.out

    await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
    await pass_vesting(daemon.devnet, sock, schedule_id, M1)
    await until_claimable(sock, schedule_id, M1)
    assert (await ctl("--socket", sock, "attestations", "export", "--out", export)).code == 0
    assert len(json.loads(export.read_text())["attestations"]) == 2
    await daemon.socket.stop()  # from here on: no daemon socket, only the file and Ogmios
    assert not sock.exists()

    # Bob signs here with his own key; his later milestone is listed as not claimable
    claimed = await ctl("--json", "claim", "--attestations", export, "--ogmios", url, "--key", bob_key)
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
            r.released for r in rows if r.beneficiary in (BOB, CAROL) and r.milestone_id == M1.encode().hex()
        )

    await eventually(released, "both claims to be seen on chain")
    again = await ctl("claim", "--attestations", export, "--ogmios", url, "--key", bob_key, "--dry-run")
    assert again.code == 1 and "already released" in again.out


async def rpc_facts(daemon: Any) -> list[Any]:
    daemon.service.catch_up()
    return list(daemon.service.projections.claimable())
