"""A beneficiary moves a still-locked allocation to a new address, end to end on the devnet: with
`milestonectl allocation move` (their key and Ogmios only), the daemon's indexer records
`AllocationReassigned` and lists the allocation under the new beneficiary, and the daemon's release pays
the new address. The refusals that need no transaction (script beneficiary, wrong key, bad address,
nothing to move) run against the same chain.

The daemon runs in this test's process; the move, its wrong-key refusal and the release paying the new
address on the real `milestoned run` process and socket, with milestonectl as a process, are in
tests/daemon/test_governance_process.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daemon_process import BOB, CAROL, DemoDaemon, eventually
from pycardano import Address, Network, ScriptHash

from milestoned.daemon.demo_wiring import TOKEN_NAME, commit_demo_signatures, rpc
from milestoned.eventlog.events import AllocationReassigned

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1 = "M1-testnet-launch"


async def test_a_beneficiary_moves_an_allocation_and_the_release_pays_the_new_address(
    demo_daemon: DemoDaemon,
) -> None:
    daemon, folder, sock = demo_daemon.daemon, demo_daemon.folder, demo_daemon.sock
    schedule_id, ctl = demo_daemon.schedule_id, demo_daemon.ctl
    url = daemon.devnet.url
    bob_key, bob_wallet = demo_daemon.key("beneficiary-2")
    assert bob_wallet == BOB
    carol_key, carol_wallet = demo_daemon.key("beneficiary-3")
    _, dave = demo_daemon.key("new-wallet-of-bob")
    _, erin = demo_daemon.key("new-wallet-of-carol")
    daemon.devnet.fund(BOB, 20_000_000)
    daemon.devnet.fund(carol_wallet, 20_000_000)
    move = ("allocation", "move", "--ogmios", url)
    rows = (await rpc(sock, "claimable", {"beneficiary": BOB}))["allocations"]
    (bobs,) = [r["allocation"] for r in rows if r["milestone"] == M1]

    # refusals, each naming what is wrong
    script = str(Address(ScriptHash(bytes(28)), network=Network.TESTNET))
    as_script = await ctl(*move, "--to", dave, "--beneficiary", script, "--dry-run", "--all")
    assert as_script.code == 2 and "cannot sign a move" in as_script.err, as_script.err
    wrong = await ctl(*move, "--to", dave, "--key", carol_key, "--allocation", bobs, "--dry-run")
    assert wrong.code == 2 and "wrong key" in wrong.err and BOB in wrong.err, wrong.err
    bad = await ctl(*move, "--to", "stake_test1uq0000", "--key", bob_key, "--all")
    assert bad.code == 2 and "--to" in bad.err, bad.err
    nothing = await ctl(*move, "--to", dave, "--key", bob_key, "--milestone", "no-such-milestone")
    assert nothing.code == 1 and "nothing to move" in nothing.err, nothing.err

    moved = await ctl("--json", *move, "--to", dave, "--key", bob_key, "--milestone", M1)
    assert moved.code == 0, moved.err
    report = moved.json()["result"]
    (entry,) = report["moves"]
    assert entry["allocation"] == bobs and entry["to"] == dave and report["submitted"]
    new_ref = entry["new_allocation"]

    # Carol's hardware-wallet path: unsigned for her base address, signed offline, sent to Ogmios
    unsigned = folder / "carol"
    built = await ctl(
        *move, "--to", erin, "--beneficiary", CAROL, "--address", carol_wallet, "--all",
        "--unsigned-out", unsigned,
    )  # fmt: skip
    assert built.code == 0 and "move-1.unsigned.json" in str(sorted(unsigned.iterdir())), built.err
    assert (await ctl("tx", "sign", "--key", carol_key, unsigned)).code == 0
    sent = await ctl("tx", "submit", "--ogmios", url, *sorted(unsigned.glob("*.signed.json")))
    assert sent.code == 0 and "submitted" in sent.out, sent.err

    async def followed() -> bool:
        rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
        refs = {r["allocation"]: r["beneficiary"] for r in rows}
        owners = set(refs.values())
        return refs.get(new_ref) == dave and bobs not in refs and CAROL not in owners and erin in owners

    await eventually(followed, "the daemon to follow the moved allocation")
    logged = [e.event for e in daemon.service.log.read(after=0, limit=100_000)]
    (reassigned,) = [e for e in logged if isinstance(e, AllocationReassigned) and e.out_ref == bobs]
    assert reassigned.new_out_ref == new_ref
    assert (reassigned.old_beneficiary, reassigned.new_beneficiary) == (BOB, dave)

    await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)

    async def dave_claimable() -> bool:
        rows = (await rpc(sock, "claimable", {"beneficiary": dave}))["allocations"]
        return bool(rows) and all(r["claimable_now"] for r in rows)

    await eventually(dave_claimable, "M1 to vest on chain time")
    released = await rpc(sock, "release", {"schedule_id": schedule_id, "beneficiary": dave})
    assert released["submitted"], released

    def dave_tokens() -> int:
        return sum(
            quantity
            for output in daemon.devnet.chain.utxo.values()
            if str(output.address) == dave and not isinstance(output.amount, int)
            for names in output.amount.multi_asset.values()
            for asset, quantity in names.items()
            if asset.payload == TOKEN_NAME
        )

    async def paid() -> bool:
        return dave_tokens() == 150_000

    await eventually(paid, "the release to pay the new address")

    # an auditor with only Ogmios follows the allocation too, and the daemon's log agrees
    audited = await ctl(
        "--json", "audit", "--ogmios", url, "--from", "origin", "--against-log", folder / "events.db"
    )
    assert audited.code == 0, audited.out
    document = audited.json()
    (schedule,) = document["schedules"]
    assert schedule["ok"] and document["against_log"]["differences"] == []
    lines = {b["beneficiary"]: b for b in schedule["reconciliation"]["beneficiaries"]}
    assert (lines[dave]["moved_in"], lines[dave]["released"], lines[dave]["paid"]) == (150_000,) * 3
    assert lines[BOB]["moved_out"] == 150_000 and lines[erin]["still_locked"] == lines[CAROL]["moved_out"]


def test_unclear_requests_are_refused_before_ogmios_is_reached(run: Any) -> None:
    base = ("allocation", "move", "--ogmios", "ws://127.0.0.1:9", "--to", BOB)
    cases = [
        ((), "say whose allocations move"),
        (("--beneficiary", BOB, "--all"), "without --key nothing can sign here"),
        (("--beneficiary", BOB, "--dry-run"), "say which allocations move"),
        (("--beneficiary", BOB, "--dry-run", "--schedule-id", "zz"), "is not a schedule id"),
        (("--beneficiary", "addr1vrvjh8", "--dry-run", "--all"), "--beneficiary:"),
    ]
    for extra, message in cases:
        refused = run(*base, *extra)
        assert refused.code == 2 and message in refused.err, (extra, refused.err)
