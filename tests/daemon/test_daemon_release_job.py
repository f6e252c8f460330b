"""A long release is a job that leaves the daemon free (issue 16, point 3): while the release of many
allocations is being built (each transaction evaluated by the node, here a devnet in a thread of the
test), a write to the log (an oracle signature) is committed and answered, and the job's counters show
the transactions as they are built and submitted. The real daemon process and socket."""

from __future__ import annotations

import shutil
import time
from typing import Any

from daemon_process import EXAMPLES, Daemon, short_folder
from devnet_process import devnet_thread
from pycardano import Transaction
from test_submission_faults import address_of, commit_m1_signatures, keys_and_config, result

from milestoned.daemon.demo_wiring import TOKEN_NAME, demo_schedule_document, demo_seed
from milestoned.domain.attestation import sign_attestation
from milestoned.domain.timestamps import format_timestamp
from milestoned.txbuilder.signing import sign, signed_envelope

M1, M2 = "M1-testnet-launch", "M2-security-audit"
ALLOCATIONS = 70


def test_a_write_is_answered_while_a_long_release_builds() -> None:
    folder = short_folder()
    with devnet_thread() as devnet:
        admin, operator, config = keys_and_config(folder, devnet)
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        try:
            devnet.call(lambda d: d.fund(address_of(admin), 3_000_000_000, {TOKEN_NAME: 10_000_000}))
            devnet.call(lambda d: d.fund(address_of(operator), 800_000_000))
            daemon.start()
            now_ms = devnet.call(lambda d: d.network.start_time_ms + d.chain.slot * d.config.slot_length_ms)
            policy = devnet.call(lambda d: d.faucet.policy.hash().payload.hex())
            document = demo_schedule_document(EXAMPLES, policy, now_ms)
            beneficiaries = sorted({a["beneficiary_address"] for a in document["beneficiary_allocations"]})
            document["beneficiary_allocations"] = [
                {
                    "beneficiary_address": beneficiaries[i % len(beneficiaries)],
                    "token_amount": 1_000 + i,
                    "milestone_identifier": M1 if i < ALLOCATIONS - 1 else M2,
                    "vesting_timestamp": format_timestamp(now_ms + 5_000 + i),
                }
                for i in range(ALLOCATIONS)
            ]
            registered = result(
                daemon.call(
                    "schedule.register", {"schedule": document, "admin_address": str(address_of(admin))}
                )
            )
            for envelope in registered["transactions"]["unsigned"]:
                signed = sign(Transaction.from_cbor(bytes.fromhex(envelope["cborHex"])), [admin])
                result(daemon.call("tx.submit", {"transactions": [signed_envelope(signed)]}))
            schedule_id: str = registered["schedule_id"]
            commit_m1_signatures(daemon, schedule_id)
            daemon.wait_until(
                lambda: (
                    sum(
                        r["claimable_now"]
                        for r in result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
                    )
                    == ALLOCATIONS - 1
                ),
                "the M1 allocations on chain and vested",
                timeout=120,
            )

            job_id = result(daemon.call("release", {"schedule_id": schedule_id, "background": True}))[
                "job_id"
            ]
            assert job(daemon, job_id)["phase"] == "building"
            signature = sign_attestation(demo_seed("oracle-3"), bytes.fromhex(schedule_id), M2.encode())
            committed = result(
                daemon.call(
                    "signature.commit",
                    {
                        "attestations": [
                            {
                                "schedule_id": schedule_id,
                                "milestone_id": M2,
                                "oracle_key": signature.oracle_key.hex(),
                                "signature": signature.signature.hex(),
                            }
                        ]
                    },
                )
            )
            during = job(daemon, job_id)
            assert committed["committed"] == 1
            assert during["state"] == "running" and during["phase"] == "building", during  # not waited for

            seen: list[tuple[str, int, int]] = []
            while (current := job(daemon, job_id))["state"] == "running":
                seen.append((current["phase"], current["built"], current["submitted"]))
                time.sleep(0.05)
            assert current["state"] == "done", current
            assert current["built"] >= 2 and current["submitted"] == current["built"]
            assert len(current["tx_ids"]) == current["built"]
            built_while_building = [b for phase, b, _ in seen if phase == "building"]
            assert built_while_building == sorted(built_while_building)  # the counter only grows
            assert {s["tx_id"] for s in result(daemon.call("submissions"))} >= set(current["tx_ids"])
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)


def job(daemon: Daemon, job_id: str) -> dict[str, Any]:
    return result(daemon.call("job", {"job_id": job_id}))  # type: ignore[no-any-return]
