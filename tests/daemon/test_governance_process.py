"""Issue 15's governance of a running schedule on the REAL daemon process and socket, every step through
`milestonectl` run as a process (the devnet in a thread of the test). One schedule with guardians (2 of
3) and the demo's three milestones carries the three capabilities:

- registration: `schedule seed` writes a state seed of the admin wallet into the file, `schedule register
  --unsigned-out` puts the state's creation first, the admin signs (`tx sign`), `tx submit`; the daemon
  lists the guardians and the seed, and the schedule unpaused once the state UTxO is on chain;
- move (M1, still locked): a key that is not the beneficiary's is refused naming the beneficiary; the
  beneficiary's key moves the allocation (`allocation move`, Ogmios only); the daemon records
  `AllocationReassigned` and lists it under the new address, not the old one;
- pause: M1 attested and vested, a key that is not a guardian is refused naming the key and the
  guardians; two guardians pause; `claimable` says schedule_paused, `status` lists the schedule, and
  `milestonectl release` is refused with schedule_paused;
- cancel (while paused: a pause never blocks it): one oracle's file twice is refused as short of the
  quorum; without --unsigned-out the daemon refuses (its operator wallet is not the admin) and says so;
  the unsigned export signed by the admin and submitted takes M2's allocations back to the admin's wallet
  at once, before the reclaim deadline; `claimable` says milestone_cancelled;
- resume by two guardians (not the same two), then `milestonectl release` releases M1 and pays the moved
  allocation to the new address; each pause change spent the state UTxO before it.
The daemon's log has no traceback and `log.verify` is ok. The in-process tests of the same capabilities
(tests/commands/test_commands_schedule_pause.py, _milestone_cancel.py, _allocation_move.py) cover their
other refusals and paths (a beneficiary's own claim while paused, the hardware-wallet move, an audit).
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from daemon_process import (
    EXAMPLES,
    SETTLE_SECONDS,
    Daemon,
    advance_past,
    demo_attestations,
    demo_key,
    events,
    last_vesting_ms,
    short_folder,
    write_config,
)
from devnet_process import DevnetThread, devnet_thread
from pycardano import PaymentSigningKey
from scale_flow import address_of, ctl, ctl_refused, register, result, save_key

from milestoned.daemon.demo_wiring import TOKEN_NAME, demo_operator_key, demo_schedule_document, demo_seed
from milestoned.domain.timestamps import parse_timestamp

M1, M2, M3 = "M1-testnet-launch", "M2-security-audit", "M3-mainnet-launch"


def key_hash(name: str) -> str:
    """The payment key hash of the demo key `name`."""
    return PaymentSigningKey(demo_seed(name)).to_verification_key().hash().payload.hex()


def tokens_at(devnet: DevnetThread, address: str) -> int:
    """The schedule's token units in `address`'s UTxOs on the devnet's chain."""

    def count(d: Any) -> int:
        return sum(
            quantity
            for output in d.chain.utxo.values()
            if str(output.address) == address and not isinstance(output.amount, int)
            for names in output.amount.multi_asset.values()
            for asset, quantity in names.items()
            if asset.payload == TOKEN_NAME
        )

    return devnet.call(count)


def chain_now_ms(devnet: DevnetThread) -> int:
    return devnet.call(lambda d: d.network.start_time_ms + d.chain.slot * d.config.slot_length_ms)


def test_guardians_pause_oracles_cancel_and_a_beneficiary_moves_through_the_daemon_process() -> None:
    folder = short_folder()
    with devnet_thread() as devnet:
        keys = folder / "keys"  # the wallets' and the oracles' .skey files (demo seeds)
        keys.mkdir()
        wallets = {
            name: demo_key(keys, name)
            for name in ("admin", "guardian-1", "guardian-2", "guardian-3", "beneficiary-2", "beneficiary-3")
        }
        admin_key, admin = wallets["admin"]
        g1, g2, g3 = (str(wallets[f"guardian-{n}"][0]) for n in (1, 2, 3))
        bob_key, bob = wallets["beneficiary-2"]
        carol_key = wallets["beneficiary-3"][0]
        dave = demo_key(keys, "new-wallet-of-bob")[1]
        oracles = [demo_key(keys, f"oracle-{n}")[0] for n in (1, 2)]
        operator = demo_operator_key()
        wallet = save_key(operator, folder / "operator.skey")
        config = write_config(
            folder,
            chain={"ogmios_url": devnet.url, "start": "origin"},
            release={"wallet_key": str(wallet), "settle_seconds": SETTLE_SECONDS},
        )
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        sock = daemon.socket_path
        try:
            devnet.call(lambda d: d.fund(admin, 2_000_000_000, {TOKEN_NAME: 10_000_000}))
            devnet.call(lambda d: d.fund(admin, 5_000_000))  # the smallest: `schedule seed` takes it
            devnet.call(lambda d: d.fund(address_of(operator), 500_000_000))
            payers = [wallets[name][1] for name in ("guardian-1", "guardian-2", "beneficiary-2")]
            devnet.call(lambda d: [d.fund(payer, 50_000_000) for payer in payers])  # pause, resume, move
            daemon.start()
            policy = devnet.call(lambda d: d.faucet.policy.hash().payload.hex())
            document = demo_schedule_document(EXAMPLES, policy, chain_now_ms(devnet))
            # the spellings of a guardian: key hash, key address, key hash
            document["guardians"] = [
                key_hash("guardian-1"),
                wallets["guardian-2"][1],
                key_hash("guardian-3"),
            ]
            document["guardian_threshold"] = 2
            schedule = folder / "schedule.json"
            schedule.write_text(json.dumps(document))

            # --- registration: the state seed, the state's creation first, the admin signs ---------------
            ctl(sock, "schedule", "seed", str(schedule), "--admin-address", admin)
            seed = json.loads(schedule.read_text())["state_seed"]
            registered = register(daemon, folder, schedule, PaymentSigningKey(demo_seed("admin")))
            unsigned = sorted(
                (folder / "register").glob("*.unsigned.json"),
                key=lambda p: int(p.name.split("-")[1].split(".")[0]),
            )
            kinds = [json.loads(f.read_text())["description"].split(";")[0] for f in unsigned]
            assert kinds.index("milestoned init state") < kinds.index("milestoned registration"), kinds
            ctl(sock, "tx", "submit", *map(str, registered.files))
            schedule_id = registered.schedule_id

            def claimable(**params: str) -> list[dict[str, Any]]:
                answer = result(daemon.call("claimable", {"schedule_id": schedule_id, **params}))
                return answer["allocations"]

            def schedule_row() -> dict[str, Any]:
                [row] = [r for r in result(daemon.call("schedules")) if r["schedule_id"] == schedule_id]
                return row

            def paused_is(expected: bool) -> bool:
                return schedule_row()["paused"] is expected

            allocations = len(document["beneficiary_allocations"])
            daemon.wait_until(
                lambda: len(claimable()) == allocations and paused_is(False), "the state and the allocations"
            )
            row = schedule_row()
            assert row["guardian_threshold"] == 2 and len(row["guardians"]) == 3 and row["state_seed"] == seed

            # --- move: a still-locked allocation to a new address, the beneficiary's key only -----------
            move = ("allocation", "move", "--ogmios", devnet.url, "--to", dave)
            [bobs] = [r["allocation"] for r in claimable(beneficiary=bob) if r["milestone"] == M1]
            code, said = ctl_refused(sock, *move, "--key", str(carol_key), "--allocation", bobs, "--dry-run")
            assert code == 2 and "wrong key" in said and bob in said, said
            moved = ctl(sock, *move, "--key", str(bob_key), "--milestone", M1)
            [entry] = moved["moves"]
            assert entry["allocation"] == bobs and entry["to"] == dave and moved["submitted"], moved
            new_ref = entry["new_allocation"]

            def followed() -> bool:
                owners = {r["allocation"]: r["beneficiary"] for r in claimable()}
                return owners.get(new_ref) == dave and bobs not in owners

            daemon.wait_until(followed, "the daemon to follow the moved allocation")
            assert [r["allocation"] for r in claimable(beneficiary=dave)] == [new_ref]
            assert M1 not in {r["milestone"] for r in claimable(beneficiary=bob)}
            [reassigned] = [b for t, b in events(folder) if t == "AllocationReassigned/v1"]
            assert (reassigned["out_ref"], reassigned["new_out_ref"]) == (bobs, new_ref)
            assert (reassigned["old_beneficiary"], reassigned["new_beneficiary"]) == (bob, dave)

            # --- pause: M1 attested and vested, then refused while paused ---------------------------------
            attestations = demo_attestations(M1, 2, schedule_id=schedule_id)
            result(daemon.call("signature.commit", {"attestations": attestations}))
            devnet.call(lambda d: advance_past(d, last_vesting_ms(claimable(), M1)))

            def m1_status(status: str) -> bool:
                rows = [r for r in claimable() if r["milestone"] == M1]
                return len(rows) == 3 and all(r["status"] == status for r in rows)

            daemon.wait_until(lambda: m1_status("claimable"), "M1 to vest on chain time")
            code, said = ctl_refused(sock, "schedule", "pause", schedule_id, "--key", str(admin_key))
            # refused, naming the key and listing the guardians
            assert "not a guardian" in said and key_hash("admin") in said, said
            assert all(key_hash(f"guardian-{n}") in said for n in (1, 2, 3)), said
            assert paused_is(False)
            assert ctl(sock, "schedule", "pause", schedule_id, "--key", g1, "--key", g2)["paused"] is True
            daemon.wait_until(lambda: paused_is(True) and m1_status("schedule_paused"), "the pause on chain")
            assert not any(r["claimable_now"] for r in claimable())
            assert result(daemon.call("status"))["paused_schedules"] == [schedule_id]
            code, said = ctl_refused(sock, "release", "--schedule-id", schedule_id)
            assert "schedule_paused" in said, said

            # --- cancel M2 (the pause does not block it): a quorum's files, the admin's signature ---------
            files = []
            for n, oracle in enumerate(oracles, start=1):
                path = folder / f"cancel-{n}.json"
                ctl(sock, "attest", "sign", "--key", str(oracle), "--schedule-id", schedule_id,
                    "--milestone", M2, "--cancel", "--out", str(path))  # fmt: skip
                files.append(str(path))
            sent = {s["tx_id"] for s in result(daemon.call("submissions"))}
            _, said = ctl_refused(sock, "milestone", "cancel", M2, files[0], files[0])
            assert "1 valid cancellation signature(s) of distinct oracles, of the 2 required" in said, said
            _, said = ctl_refused(sock, "milestone", "cancel", M2, *files)
            assert "operator wallet is not the schedule's admin" in said and "--unsigned-out" in said, said
            assert {s["tx_id"] for s in result(daemon.call("submissions"))} == sent  # nothing built or sent
            before = tokens_at(devnet, admin)
            out = folder / "cancel"
            ctl(sock, "milestone", "cancel", M2, *files, "--admin-address", admin, "--unsigned-out", str(out))
            ctl(sock, "tx", "sign", "--key", str(admin_key), str(out))
            ctl(sock, "tx", "submit", str(out))

            def cancelled() -> list[dict[str, Any]] | None:
                rows = [r for r in claimable() if r["milestone"] == M2]
                return rows if rows and all(r["reclaimed"] for r in rows) else None

            rows = daemon.wait_until(cancelled, "M2's allocations taken back on chain")
            assert {r["status"] for r in rows} == {"milestone_cancelled"}
            assert not any(r["claimable_now"] for r in rows)
            taken = sum(r["amount"] for r in rows)
            assert taken == 620_000 and tokens_at(devnet, admin) == before + taken
            assert chain_now_ms(devnet) < parse_timestamp(document["reclaim_deadline"])  # at once
            assert {r["status"] for r in claimable() if r["milestone"] != M2} == {"schedule_paused"}
            [m2] = [
                m
                for m in result(daemon.call("milestones", {"schedule_id": schedule_id}))
                if m["milestone"] == M2
            ]
            assert m2["cancelled"] and m2["allocations_reclaimed"] == len(rows)
            [cancellation] = [b for t, b in events(folder) if t == "MilestoneCancelled/v1"]
            assert cancellation["milestone_id"] == M2.encode().hex() and cancellation["oracle_indices"] == [
                0,
                1,
            ]

            # --- resume (two other guardians), then the release pays the moved allocation's new address ---
            assert ctl(sock, "schedule", "resume", schedule_id, "--key", g2, "--key", g3)["paused"] is False
            daemon.wait_until(lambda: paused_is(False) and m1_status("claimable"), "the resume on chain")
            assert result(daemon.call("status"))["paused_schedules"] == []
            released = ctl(sock, "release", "--schedule-id", schedule_id)
            assert released["submitted"], released
            daemon.wait_until(lambda: m1_status("already_claimed"), "M1 released on chain")
            assert tokens_at(devnet, dave) == 150_000
            assert {r["status"] for r in claimable() if r["milestone"] == M3} == {"milestone_not_verified"}

            states = [
                b for t, b in events(folder) if t in ("ScheduleStateCreated/v1", "SchedulePauseChanged/v1")
            ]
            assert [s["paused"] for s in states] == [0, 1, 0]
            assert [s.get("spent", []) for s in states] == [
                [],
                [states[0]["out_ref"]],
                [states[1]["out_ref"]],
            ]
            assert result(daemon.call("log.verify"))["ok"] is True
            assert "Traceback" not in daemon.logs()
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)
