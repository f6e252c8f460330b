"""Guardians pause and resume a schedule's releases, end to end on the devnet through milestonectl and the
daemon's socket (issue 15): a state seed not in the admin wallet is refused listing the wallet's UTxOs,
`schedule seed` writes one of them into the file, registration creates the state UTxO first (spending the
seed, the admin alone signs) and the allocations read it, a non-guardian's pause is refused naming the
key and the guardians, a pause makes `claimable` say schedule_paused and the daemon (and a beneficiary's
`claim`) refuse the release early, and after the resume the release goes through.

The daemon runs in this test's process (its events read from its log object); the same pause, refusals
and resume on the real `milestoned run` process and socket, with milestonectl as a process, are in
tests/daemon/test_governance_process.py."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from daemon_process import eventually
from pycardano import Address, Network, PaymentSigningKey

from milestoned.daemon.app import running_daemon
from milestoned.daemon.demo_wiring import (
    TOKEN_NAME,
    commit_demo_signatures,
    demo_config,
    demo_operator_key,
    demo_schedule_document,
    demo_seed,
    rpc,
)
from milestoned.eventlog.events import SchedulePauseChanged, ScheduleStateCreated
from milestoned.shared.config import with_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
M1 = "M1-testnet-launch"


def _key(folder: Path, name: str) -> tuple[Path, PaymentSigningKey, str]:
    key = PaymentSigningKey(demo_seed(name))
    path = folder / f"{name}.skey"
    key.save(str(path))
    path.chmod(0o600)
    return path, key, str(Address(key.to_verification_key().hash(), network=Network.TESTNET))


def _hash(key: PaymentSigningKey) -> str:
    return key.to_verification_key().hash().payload.hex()


async def test_guardians_pause_and_resume_releases(run: Any, quiet_daemon_logs: None) -> None:
    with tempfile.TemporaryDirectory(prefix="mgp-", dir="/tmp") as name:
        folder = Path(name)
        wallet = folder / "op.skey"
        config = with_overrides(demo_config(folder), release={"auto": False, "wallet_key": str(wallet)})
        demo_operator_key().save(str(wallet))
        wallet.chmod(0o600)
        async with running_daemon(config) as daemon:
            sock = Path(config.socket.path)
            devnet = daemon.devnet

            async def ctl(*args: str | Path) -> Any:
                return await asyncio.to_thread(run, *map(str, args))

            admin_path, _, admin_address = _key(folder, "admin")
            guardians = [_key(folder, f"guardian-{n}") for n in (1, 2, 3)]
            devnet.fund(admin_address, 2_000_000_000, {TOKEN_NAME: 10_000_000})
            devnet.fund(admin_address, 5_000_000)  # its own small UTxO: `schedule seed` takes the smallest
            operator = demo_operator_key().to_verification_key().hash()
            devnet.fund(Address(operator, network=Network.TESTNET), 500_000_000)
            for _, _, address in guardians[:2]:  # the payers of the pause and of the resume
                devnet.fund(address, 50_000_000)
            now_ms = devnet.network.start_time_ms + devnet.chain.slot * devnet.config.slot_length_ms
            document = demo_schedule_document(EXAMPLES, devnet.faucet.policy.hash().payload.hex(), now_ms)
            # the three spellings of a guardian: key hash, key address, and again a key hash
            document["guardians"] = [_hash(guardians[0][1]), guardians[1][2], _hash(guardians[2][1])]
            document["guardian_threshold"] = 2
            schedule_file = folder / "schedule.json"
            schedule_file.write_text(json.dumps(document))
            out = folder / "register"
            register = (
                "--socket",
                sock,
                "schedule",
                "register",
                schedule_file,
                "--admin-address",
                admin_address,
            )

            # a state seed that is not the admin wallet's: refused, listing the wallet's UTxOs
            spent = await ctl("schedule", "seed", schedule_file, "--utxo", "ee" * 32 + "#0")
            assert spent.code == 0, spent.err
            refused = await ctl(*register, "--unsigned-out", out)
            said = refused.out + refused.err
            assert refused.code != 0 and "state_seed" in said and "schedule seed" in said, said
            admin_utxos = (await rpc(sock, "wallet.utxos", {"address": admin_address}))["utxos"]
            assert admin_utxos and all(row["utxo"] in said for row in admin_utxos), said
            # `schedule seed` puts one of them in the file (--force: it replaces the one there)
            seeded = await ctl(
                "--socket", sock, "schedule", "seed", schedule_file, "--admin-address", admin_address
            )
            assert seeded.code != 0 and "--force" in seeded.out + seeded.err
            seeded = await ctl(
                "--socket",
                sock,
                "schedule",
                "seed",
                schedule_file,
                "--admin-address",
                admin_address,
                "--force",
            )
            assert seeded.code == 0, seeded.err
            seed = json.loads(schedule_file.read_text())["state_seed"]
            assert seed == min(admin_utxos, key=lambda row: row["lovelace"])["utxo"]

            # registration: the state first (it spends the seed), then the allocations; the admin signs all
            registered = await ctl(*register, "--unsigned-out", out)
            assert registered.code == 0 and "creates the schedule's state" in registered.out, registered.err
            files = sorted(out.glob("*.unsigned.json"), key=lambda p: int(p.name.split("-")[1].split(".")[0]))
            kinds = [json.loads(f.read_text())["description"].split(";")[0] for f in files]
            assert kinds.index("milestoned init state") < kinds.index("milestoned registration"), kinds
            assert (await ctl("tx", "sign", "--key", admin_path, out)).code == 0
            submitted = await ctl("--socket", sock, "tx", "submit", out)
            assert submitted.code == 0, submitted.err
            rows = await rpc(sock, "schedules")
            schedule_id = rows[0]["schedule_id"]
            assert rows[0]["guardian_threshold"] == 2 and len(rows[0]["guardians"]) == 3
            assert rows[0]["state_seed"] == seed

            async def schedule_paused(expected: bool) -> bool:
                return bool((await rpc(sock, "schedules"))[0]["paused"] is expected)

            await eventually(lambda: schedule_paused(False), "the state UTxO to be created")

            async def m1_rows() -> list[dict[str, Any]]:
                rows = (await rpc(sock, "claimable", {"schedule_id": schedule_id}))["allocations"]
                return [r for r in rows if r["milestone"] == M1]

            await commit_demo_signatures(sock, EXAMPLES, schedule_id, M1)
            devnet.advance(60_000 // devnet.config.slot_length_ms)
            devnet.produce_block()

            async def m1_status(status: str) -> bool:
                rows = await m1_rows()
                return bool(rows) and all(r["status"] == status for r in rows)

            await eventually(lambda: m1_status("claimable"), "M1 to be claimable")

            # a key that is not a guardian: refused, naming the key and listing the guardians
            wrong = await ctl("--socket", sock, "schedule", "pause", schedule_id, "--key", admin_path)
            said = wrong.out + wrong.err
            assert wrong.code != 0 and "not a guardian" in said, said
            assert _hash(PaymentSigningKey(demo_seed("admin"))) in said and _hash(guardians[2][1]) in said

            paused = await ctl(
                "--socket", sock, "schedule", "pause", schedule_id,
                "--key", guardians[0][0], "--key", guardians[1][0],
            )  # fmt: skip
            assert paused.code == 0, paused.out + paused.err
            await eventually(lambda: schedule_paused(True), "the pause to be on chain")
            await eventually(lambda: m1_status("schedule_paused"), "claimable to say schedule_paused")
            assert not any(r["claimable_now"] for r in await m1_rows())
            assert (await rpc(sock, "status"))["paused_schedules"] == [schedule_id]
            refused = await ctl("--socket", sock, "release", "--schedule-id", schedule_id)
            assert refused.code != 0 and "schedule_paused" in refused.out + refused.err
            # a beneficiary's own claim (no daemon) is refused at once too, not by a failing script
            export = folder / "attestations.json"
            assert (await ctl("--socket", sock, "attestations", "export", "--out", export)).code == 0
            bob_key = _key(folder, "beneficiary-2")[0]
            claim = await ctl("claim", "--attestations", export, "--ogmios", devnet.url, "--key", bob_key)
            assert claim.code == 1 and "schedule_paused" in claim.out + claim.err, claim.out + claim.err

            resumed = await ctl(
                "--socket", sock, "schedule", "resume", schedule_id,
                "--key", guardians[1][0], "--key", guardians[2][0],
            )  # fmt: skip
            assert resumed.code == 0, resumed.out + resumed.err
            await eventually(lambda: m1_status("claimable"), "the resume to be on chain")
            released = await ctl("--socket", sock, "release", "--schedule-id", schedule_id)
            assert released.code == 0, released.out + released.err
            await eventually(lambda: m1_status("already_claimed"), "M1 to be released on chain")
            # each change recorded the state UTxO it spent (through the state validator), not the payer's
            logged = await daemon.service.read(daemon.service.log.read, 0, 100_000)
            states = [
                e.event for e in logged if isinstance(e.event, ScheduleStateCreated | SchedulePauseChanged)
            ]
            assert [type(e) for e in states] == [
                ScheduleStateCreated,
                SchedulePauseChanged,
                SchedulePauseChanged,
            ]
            assert [getattr(e, "spent", ()) for e in states] == [
                (),
                (states[0].out_ref,),
                (states[1].out_ref,),
            ]
