"""A release is never lost to a crash (issue 17, points 9 and 10). The daemon records the intent (tx id,
allocations, inputs) before sending; a kill -9 exactly between recording and sending, or between sending
and recording the submission (a fault-injection point, not a timing guess), is reconciled at the next
start with the mempool and the chain; and the next release never spends what the lost, still pending
transaction spends. The real daemon process and socket, the devnet in a thread of the test (its blocks
held so a transaction stays in the mempool)."""

from __future__ import annotations

import hashlib
import shutil
import signal
from pathlib import Path
from typing import Any

import orjson
import pytest
from daemon_process import (
    EXAMPLES,
    SETTLE_SECONDS,
    Daemon,
    advance_past,
    demo_attestations,
    events,
    last_vesting_ms,
    short_folder,
    write_config,
)
from devnet_process import DevnetThread, devnet_thread
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey, Transaction

from milestoned.daemon.demo_wiring import TOKEN_NAME, demo_schedule_document, demo_seed
from milestoned.txbuilder.signing import sign, signed_envelope
from milestoned.txbuilder.submission import FAULT_INJECTION_ENV

M1 = "M1-testnet-launch"


def result(answer: dict[str, Any]) -> Any:
    assert "error" not in answer, answer
    return answer["result"]


def address_of(key: PaymentSigningKey) -> Address:
    return Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)


def crash_during_release(daemon: Daemon, schedule_id: str, allocation: str) -> None:
    """The release request on a daemon set to kill itself at the fault-injection point: no answer."""
    with pytest.raises(orjson.JSONDecodeError):  # the connection closes without an answer line
        daemon.call("release", {"schedule_id": schedule_id, "allocations": [allocation]})
    assert daemon.process is not None
    assert daemon.process.wait(30) == -signal.SIGKILL


def register_on_chain(daemon: Daemon, devnet: DevnetThread, admin: PaymentSigningKey) -> str:
    now_ms = devnet.call(lambda d: d.network.start_time_ms + d.chain.slot * d.config.slot_length_ms)
    policy = devnet.call(lambda d: d.faucet.policy.hash().payload.hex())
    document = demo_schedule_document(EXAMPLES, policy, now_ms)
    registered = result(
        daemon.call("schedule.register", {"schedule": document, "admin_address": str(address_of(admin))})
    )
    for envelope in registered["transactions"]["unsigned"]:
        signed = sign(Transaction.from_cbor(bytes.fromhex(envelope["cborHex"])), [admin])
        result(daemon.call("tx.submit", {"transactions": [signed_envelope(signed)]}))
    schedule_id: str = registered["schedule_id"]
    expected = len(document["beneficiary_allocations"])
    daemon.wait_until(
        lambda: (
            len(result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]) >= expected
        ),
        "the allocations on chain",
    )
    return schedule_id


def daemon_config(folder: Path, devnet: DevnetThread, settle_seconds: float) -> Path:
    """The daemon's config on `devnet`, paid by the operator key in `folder`, settling this often."""
    return write_config(
        folder,
        chain={"ogmios_url": devnet.url, "start": "origin"},
        release={"wallet_key": str(folder / "operator.skey"), "settle_seconds": settle_seconds},
    )


def keys_and_config(folder: Path, devnet: DevnetThread) -> tuple[PaymentSigningKey, PaymentSigningKey, Path]:
    """The demo admin, an operator wallet saved as the daemon's key (0600), and a config on `devnet`
    that settles once an hour: until it is rewritten, only the settlement at start reconciles."""
    admin = PaymentSigningKey(demo_seed("admin"))
    operator = PaymentSigningKey(hashlib.sha256(b"milestoned/test/operator").digest())
    wallet_key = folder / "operator.skey"
    operator.save(str(wallet_key))
    wallet_key.chmod(0o600)
    return admin, operator, daemon_config(folder, devnet, 3600)


def commit_m1_signatures(daemon: Daemon, schedule_id: str) -> None:
    attestations = demo_attestations(M1, 2, schedule_id=schedule_id)
    result(daemon.call("signature.commit", {"attestations": attestations}))


def submissions(daemon: Daemon) -> dict[str, dict[str, Any]]:
    return {s["tx_id"]: s for s in result(daemon.call("submissions"))}


def test_a_kill_between_intent_send_and_record_loses_no_release_and_spends_nothing_pending() -> None:
    folder = short_folder()
    with devnet_thread() as devnet:
        admin, operator, config = keys_and_config(folder, devnet)
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log")
        try:
            devnet.call(lambda d: d.fund(address_of(admin), 2_000_000_000, {TOKEN_NAME: 10_000_000}))
            # two wallet UTxOs: coin selection takes the larger first, so after a crash the old code
            # picked the one the lost transaction spends
            devnet.call(lambda d: d.fund(address_of(operator), 800_000_000))
            devnet.call(lambda d: d.fund(address_of(operator), 300_000_000))
            daemon.env = {FAULT_INJECTION_ENV: "after-intent"}
            daemon.start()
            schedule_id = register_on_chain(daemon, devnet, admin)
            commit_m1_signatures(daemon, schedule_id)
            rows = result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
            devnet.call(lambda d: advance_past(d, last_vesting_ms(rows, M1)))  # M1 vests at the next block

            def vested() -> list[dict[str, Any]]:
                rows = [
                    r
                    for r in result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
                    if r["milestone"] == M1 and r["claimable_now"]
                ]
                return rows if len(rows) >= 3 else []  # M1's vesting times are a second apart each

            rows = daemon.wait_until(vested, "three M1 allocations to vest", timeout=120)
            first, second, third = sorted(r["allocation"] for r in rows)[:3]

            # 1. killed after recording the intent, before sending: at restart it is found nowhere (by
            # the settlement at start: the next one would come an hour later)
            crash_during_release(daemon, schedule_id, first)
            intents = [body for topic, body in events(folder) if topic == "SubmissionIntended/v1"]
            assert [i["allocation_refs"] for i in intents] == [[first]]
            never_sent = intents[0]["tx_id"]
            assert not devnet.call(lambda d: d.pending())
            daemon.env = {FAULT_INJECTION_ENV: "after-send"}
            daemon.start()
            # a release asked for at once, before the settlement at start may have run, settles the
            # intent itself: its allocation is not left out as in flight (a dry run: nothing is sent)
            dry = result(
                daemon.call("release", {"schedule_id": schedule_id, "allocations": [first], "dry_run": True})
            )
            assert [tx["allocations"] for tx in dry["plan"]["transactions"]] == [[first]], dry
            expired = daemon.wait_until(
                lambda: (
                    submissions(daemon).get(never_sent, {}).get("status") == "expired"
                    and submissions(daemon)[never_sent]
                ),
                "the intent reconciled",
            )
            assert "never reached the node" in expired["reason"]

            # 2. killed after the node accepted it, before recording it (blocks held: it stays pending)
            devnet.call(lambda d: setattr(d, "hold_blocks", True))
            crash_during_release(daemon, schedule_id, second)
            pending = devnet.call(lambda d: [tx.decoded.id_hex for tx in d.pending()])
            assert len(pending) == 1
            lost = pending[0]
            topics = {(topic, body.get("tx_id")) for topic, body in events(folder)}
            assert ("SubmissionIntended/v1", lost) in topics
            assert ("ReleaseSubmitted/v1", lost) not in topics  # the record the crash would have lost
            lost_inputs = next(
                b["inputs"] for t, b in events(folder) if t == "SubmissionIntended/v1" and b["tx_id"] == lost
            )

            daemon_config(folder, devnet, SETTLE_SECONDS)  # from here on, confirmations are waited for
            daemon.env = {}
            daemon.start()
            daemon.wait_until(
                lambda: submissions(daemon).get(lost, {}).get("status") == "submitted",
                "the lost release listed",
            )
            # 3. the next release while the lost one is still in the mempool: accepted the first time,
            # spending none of its inputs (the first allocation is free again: its intent expired)
            again = result(daemon.call("release", {"schedule_id": schedule_id, "allocations": [first]}))
            inputs = {i for tx in again["plan"]["transactions"] for i in tx["inputs"]}
            assert not inputs & set(lost_inputs)
            assert not any(i.startswith(lost) for i in inputs)  # nor the lost one's change
            devnet.call(lambda d: setattr(d, "hold_blocks", False))
            confirmed = {lost, *again["submitted"]}
            daemon.wait_until(
                lambda: all(submissions(daemon).get(t, {}).get("status") == "confirmed" for t in confirmed),
                "both releases confirmed",
            )
            claim = result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
            assert {r["allocation"] for r in claim if r["released"]} >= {first, second}

            # 4. killed after sending, and the transaction in a block before the restart: found on chain
            daemon.stop()
            daemon.env = {FAULT_INJECTION_ENV: "after-send"}
            daemon.start()
            crash_during_release(daemon, schedule_id, third)
            landed = [b["tx_id"] for t, b in events(folder) if t == "SubmissionIntended/v1"][-1]
            daemon.wait_until(lambda: not devnet.call(lambda d: d.pending()), "the block holding it")
            daemon.env = {}
            daemon.start()
            daemon.wait_until(
                lambda: submissions(daemon).get(landed, {}).get("status") == "confirmed", "the landed release"
            )
            assert "submission intents reconciled" in daemon.logs() and '"confirmed"' in daemon.logs()
            assert result(daemon.call("log.verify"))["ok"] is True
            assert "Traceback" not in daemon.logs()
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)
