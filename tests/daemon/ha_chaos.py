"""The chaos run of issue 12, point 4, shared by the suite's short test and `bench/ha.py`: daemons on one
store, releases running (auto-release) and admins committing signatures, the writing daemon killed with
`kill -9` at random (seeded) moments and, every few kills, exactly inside a submission (the
fault-injection hook), then the log checked: no allocation in two live submissions, no acknowledged
commit or release missing, no event twice, the log verifies and a replay equals the live projections.

PostgreSQL: two daemons, the leader is killed, the follower takes over, the killed one comes back as a
follower. SQLite: one daemon, killed and restarted."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon_process import EXAMPLES, Daemon
from devnet_process import DevnetThread
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey, Transaction

from milestoned.daemon.demo_wiring import TOKEN_NAME, demo_schedule_document, demo_seed
from milestoned.domain.timestamps import format_timestamp
from milestoned.eventlog import EventLog
from milestoned.eventlog.config import StoreConfig
from milestoned.eventlog.events import (
    AllocationReleased,
    Event,
    LeaderElected,
    OracleSignatureCommitted,
    ReleaseSubmitted,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionIntended,
)
from milestoned.txbuilder.signing import sign, signed_envelope
from milestoned.txbuilder.submission import FAULT_INJECTION_ENV

MILESTONES = ("M1-testnet-launch", "M2-security-audit", "M3-mainnet-launch")
ORACLES = ("oracle-1", "oracle-2", "oracle-3")
HOOKS = ("after-intent", "after-send")
STARTED = ("synced", "syncing", "disconnected", "failing")


def address_of(key: PaymentSigningKey) -> Address:
    return Address(PaymentVerificationKey.from_signing_key(key).hash(), network=Network.TESTNET)


def operator_key(folder: Path) -> Path:
    """The operator wallet (0600) every daemon of the run pays releases from."""
    key = PaymentSigningKey(hashlib.sha256(b"milestoned/test/ha-operator").digest())
    path = folder / "operator.skey"
    if not path.exists():
        key.save(str(path))
        path.chmod(0o600)
    return path


def fund(devnet: DevnetThread, wallet: Path) -> PaymentSigningKey:
    admin = PaymentSigningKey(demo_seed("admin"))
    operator = PaymentSigningKey.load(str(wallet))
    devnet.call(lambda d: d.fund(address_of(admin), 3_000_000_000, {TOKEN_NAME: 10_000_000}))
    for _ in range(4):  # several wallet UTxOs: releases in a row need not wait for change
        devnet.call(lambda d: d.fund(address_of(operator), 400_000_000))
    return admin


def answer(daemon: Daemon, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The daemon's answer, or an `error` with code None when it does not answer (killed)."""
    try:
        return daemon.call(method, params)
    except (OSError, ValueError):
        return {"error": {"code": None, "message": "no answer"}}


def register(daemon: Daemon, devnet: DevnetThread, admin: PaymentSigningKey, allocations: int) -> str:
    """A schedule of `allocations` allocations over three milestones, vesting a little apart from now."""
    now_ms = devnet.call(lambda d: d.network.start_time_ms + d.chain.slot * d.config.slot_length_ms)
    policy = devnet.call(lambda d: d.faucet.policy.hash().payload.hex())
    document = demo_schedule_document(EXAMPLES, policy, now_ms)
    beneficiaries = sorted({a["beneficiary_address"] for a in document["beneficiary_allocations"]})
    document["beneficiary_allocations"] = [
        {
            "beneficiary_address": beneficiaries[i % len(beneficiaries)],
            "token_amount": 1_000 + i,
            "milestone_identifier": MILESTONES[i % len(MILESTONES)],
            "vesting_timestamp": format_timestamp(now_ms + 3_000 + 300 * i),
        }
        for i in range(allocations)
    ]
    registered = daemon.call(
        "schedule.register", {"schedule": document, "admin_address": str(address_of(admin))}
    )
    assert "result" in registered, registered
    for envelope in registered["result"]["transactions"]["unsigned"]:
        signed = sign(Transaction.from_cbor(bytes.fromhex(envelope["cborHex"])), [admin])
        sent = daemon.call("tx.submit", {"transactions": [signed_envelope(signed)]})
        assert "result" in sent, sent
    return str(registered["result"]["schedule_id"])


def signed_and_due(daemon: Daemon, devnet: DevnetThread, admin: PaymentSigningKey, allocations: int) -> str:
    """Register a schedule, commit M1's quorum, and wait until an M1 allocation is claimable: the
    chaos must begin with releases due, however fast registration went (with the native evaluator it
    ends before the first vesting time)."""
    schedule_id = register(daemon, devnet, admin, allocations)
    for oracle in ("oracle-1", "oracle-2"):
        reply = daemon.call(
            "signature.commit", {"attestations": [attestation(schedule_id, "M1-testnet-launch", oracle)]}
        )
        assert "result" in reply, reply

    def due() -> bool:
        claimable = answer(daemon, "claimable").get("result") or {"allocations": []}
        return any(a["claimable_now"] or a["released"] or a["in_flight"] for a in claimable["allocations"])

    wait_for(due, "an M1 allocation to fall due", 180)
    return schedule_id


def attestation(schedule_id: str, milestone: str, oracle: str) -> dict[str, str]:
    from milestoned.domain.attestation import sign_attestation
    from milestoned.domain.attestation_file import Attestation, attestation_document

    schedule = bytes.fromhex(schedule_id)
    signature = sign_attestation(demo_seed(oracle), schedule, milestone.encode())
    return attestation_document(Attestation(schedule, milestone.encode(), signature))


@dataclass
class ChaosReport:
    kills: int = 0
    hook_kills: int = 0
    """Restarts armed to die inside their next submission (the fault-injection hook)."""
    hook_deaths: int = 0
    """Daemons that did die there (and were restarted without the hook)."""
    takeovers_s: list[float] = field(default_factory=list)
    commits_acknowledged: set[tuple[str, str, str]] = field(default_factory=set)
    duplicate_submissions: int = 0
    lost_events: int = 0
    duplicated_events: int = 0
    releases_confirmed: int = 0
    terms: list[int] = field(default_factory=list)
    verify_ok: bool = False
    replay_equal: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def takeover_median_s(self) -> float:
        return statistics.median(self.takeovers_s) if self.takeovers_s else float("nan")


def audit_log(events: Iterable[Event], acknowledged: set[tuple[str, str, str]], report: ChaosReport) -> None:
    """Count what the run must never show, from the log alone (plus the commits the daemons answered)."""
    live: dict[str, str] = {}  # allocation → the submission spending it (intended, sent or confirmed)
    refs_of: dict[str, tuple[str, ...]] = {}
    intended: set[str] = set()
    signatures: set[tuple[str, str, str]] = set()
    released: set[str] = set()
    terms: list[int] = []
    for event in events:
        if isinstance(event, SubmissionIntended):
            intended.add(event.tx_id)
            refs_of[event.tx_id] = event.allocation_refs
            for ref in event.allocation_refs:
                if ref in live and live[ref] != event.tx_id:
                    report.duplicate_submissions += 1
                    report.problems.append(f"{ref} intended by {event.tx_id} while live in {live[ref]}")
                live[ref] = event.tx_id
        elif isinstance(event, SubmissionExpired | SubmissionFailed):
            for ref in refs_of.get(event.tx_id, ()):
                if live.get(ref) == event.tx_id:
                    del live[ref]
        elif isinstance(event, ReleaseSubmitted) and event.tx_id not in intended:
            report.lost_events += 1
            report.problems.append(f"release {event.tx_id} submitted without a recorded intent")
        elif isinstance(event, OracleSignatureCommitted):
            key = (event.schedule_id, event.milestone_id, event.oracle_key)
            if key in signatures:
                report.duplicated_events += 1
                report.problems.append(f"signature {key} committed twice")
            signatures.add(key)
        elif isinstance(event, AllocationReleased):
            if event.out_ref in released:
                report.duplicated_events += 1
                report.problems.append(f"{event.out_ref} released twice in the log")
            released.add(event.out_ref)
            if event.tx_id not in intended:  # a release on chain the log never recorded sending
                report.lost_events += 1
                report.problems.append(f"{event.out_ref} released by {event.tx_id}, never recorded as sent")
        elif isinstance(event, LeaderElected):
            if terms and event.term <= terms[-1]:
                report.duplicated_events += 1
                report.problems.append(f"term {event.term} elected after term {terms[-1]}")
            terms.append(event.term)
    missing = acknowledged - signatures
    report.lost_events += len(missing)
    report.problems.extend(f"acknowledged commit {m} missing from the log" for m in sorted(missing))
    report.releases_confirmed = len(released)
    report.terms = terms


def wait_for(predicate: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def revive(daemons: list[Daemon], report: ChaosReport) -> None:
    """Restart (without the hook) every daemon that died by itself inside a submission."""
    for daemon in daemons:
        if daemon.process is not None and daemon.process.poll() is not None:
            if daemon.env:
                report.hook_deaths += 1
            daemon.env = {}
            daemon.start(states=STARTED)


def start_armed(daemon: Daemon) -> None:
    """Start `daemon`; one armed to die inside its next submission may die before it is seen ready
    (releases are due at once after a kill, and auto-release may run before the first health answer):
    that is the hook doing its work, left to `revive` to count and restart, not a failed start."""
    try:
        daemon.start(states=STARTED)
    except (AssertionError, ValueError):  # ValueError: it died in the middle of a health answer
        assert daemon.process is not None
        try:
            killed_itself = daemon.process.wait(timeout=10) == -signal.SIGKILL
        except subprocess.TimeoutExpired:
            killed_itself = False
        if not (daemon.env and killed_itself):
            raise


def is_writer(daemon: Daemon) -> bool:
    if daemon.process is None or daemon.process.poll() is not None:
        return False
    health = answer(daemon, "health").get("result")
    return bool(health) and health["role"] in ("leader", "single")


def chaos(
    daemons: list[Daemon],
    schedule_id: str,
    store: StoreConfig,
    *,
    kills: int,
    seed: int,
    hook_every: int = 3,
    takeover_timeout: float = 180.0,
) -> ChaosReport:
    """Kill the writing daemon `kills` times; with one daemon it is restarted, with several the next one
    must take over (measured from the kill to its health answer saying leader)."""
    rng = random.Random(seed)
    report = ChaosReport()
    pending = [(m, o) for m in MILESTONES[1:] for o in ORACLES]  # M1 is signed before the chaos
    rng.shuffle(pending)

    def writer_now() -> Daemon | None:
        revive(daemons, report)
        return next((d for d in daemons if is_writer(d)), None)

    for number in range(kills):
        writer = wait_for(writer_now, "a writer", takeover_timeout)
        if pending:  # an admin commits a signature; acknowledged ones must survive every kill
            milestone, oracle = pending[0]
            reply = answer(
                writer, "signature.commit", {"attestations": [attestation(schedule_id, milestone, oracle)]}
            )
            if "result" in reply:
                pending.pop(0)
                report.commits_acknowledged.add((schedule_id, milestone.encode().hex(), _oracle_key(oracle)))
        time.sleep(rng.uniform(2.0, 6.0))  # auto-release runs every 2 s: kills land around releases
        assert writer.process is not None
        if writer.process.poll() is None:
            os.kill(writer.process.pid, signal.SIGKILL)
        writer.process.wait(timeout=30)
        killed_at = time.monotonic()
        report.kills += 1
        others = [d for d in daemons if d is not writer]
        if others:
            wait_for(
                lambda o=others: any(is_writer(d) for d in o), "a follower to take over", takeover_timeout
            )
            report.takeovers_s.append(time.monotonic() - killed_at)
        # every `hook_every`-th restart dies inside its next submission (after its intent, or its send)
        hooked = hook_every and number % hook_every == hook_every - 1
        writer.env = {FAULT_INJECTION_ENV: HOOKS[(number // max(hook_every, 1)) % 2]} if hooked else {}
        start_armed(writer)
        if hooked:
            report.hook_kills += 1
    while pending:  # the admins commit the rest: more releases fall due (an armed daemon dies in one)
        milestone, oracle = pending[0]
        writer = wait_for(writer_now, "a writer", takeover_timeout)
        reply = answer(
            writer, "signature.commit", {"attestations": [attestation(schedule_id, milestone, oracle)]}
        )
        if "result" in reply:
            pending.pop(0)
            report.commits_acknowledged.add((schedule_id, milestone.encode().hex(), _oracle_key(oracle)))
    return report


def settle_and_audit(
    daemons: list[Daemon], store: StoreConfig, report: ChaosReport, timeout: float = 240.0
) -> None:
    """Wait until no intent is open and nothing is due (restarting a daemon the hook kills meanwhile),
    then audit the log, verify it and replay it."""

    def settled() -> bool:  # nothing open, and every allocation that may be released was
        revive(daemons, report)
        writer = next((d for d in daemons if is_writer(d)), None)
        if writer is None:
            return False
        subs = answer(writer, "submissions").get("result")
        claimable = answer(writer, "claimable").get("result")
        if subs is None or claimable is None:
            return False
        with EventLog(store) as log:
            open_intents = _open_intents(e.event for e in log.iter_events())
        due = [a for a in claimable["allocations"] if a["claimable_now"] or a["in_flight"]]
        return not open_intents and not due and all(s["status"] != "submitted" for s in subs)

    wait_for(settled, "every submission settled", timeout)
    revive(daemons, report)
    writer = wait_for(lambda: next((d for d in daemons if is_writer(d)), None), "a writer", 180)
    with EventLog(store) as log:
        audit_log((e.event for e in log.iter_events()), report.commits_acknowledged, report)
    report.verify_ok = answer(writer, "log.verify").get("result", {}).get("ok") is True
    report.replay_equal = answer(writer, "log.replay").get("result", {}).get("equal") is True


def _open_intents(events: Iterable[Event]) -> set[str]:
    open_: set[str] = set()
    for event in events:
        if isinstance(event, SubmissionIntended):
            open_.add(event.tx_id)
        elif isinstance(event, ReleaseSubmitted | SubmissionExpired | SubmissionFailed):
            open_.discard(event.tx_id)
    return open_


def _oracle_key(oracle: str) -> str:
    from milestoned.domain.attestation import sign_attestation

    return sign_attestation(demo_seed(oracle), bytes(28), b"key").oracle_key.hex()
