"""A large schedule end to end through the real daemon and `milestonectl` (issue 12, point 1): the steps
the short test (`test_scale_flow.py`) and the long bench (`python -m bench scale`) share.

The schedule: BENEFICIARIES x 5 milestones with uneven shares, 5 oracles, quorum 3, and a remainder (a
sixth milestone for a few beneficiaries that never reaches its quorum, reclaimed after the deadline).
Every step goes through `milestonectl` against the daemon's socket, as an operator would run it:
`schedule validate`, `schedule register --admin-address --unsigned-out` (a job with a bar), `tx sign`,
`tx submit` (chunks with a bar), `signature commit`, `release` (a job: rounds, a bar), `reclaim`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon_process import REPO, Daemon
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from milestoned.domain.timestamps import format_timestamp

MILESTONES = ("M1", "M2", "M3", "M4", "M5")
REMAINDER = "M6-never-attested"
ORACLES = 5
QUORUM = 3
TOKEN = b"MILE"


def key(label: str) -> PaymentSigningKey:
    return PaymentSigningKey(hashlib.blake2b(f"milestoned-scale/{label}".encode(), digest_size=32).digest())


def address_of(signing: PaymentSigningKey) -> Address:
    return Address(PaymentVerificationKey.from_signing_key(signing).hash(), network=Network.TESTNET)


def oracle_seed(index: int) -> bytes:
    return hashlib.blake2b(f"milestoned-scale/oracle-{index}".encode(), digest_size=32).digest()


def save_key(signing: PaymentSigningKey, path: Path) -> Path:
    signing.save(str(path))
    path.chmod(0o600)
    return path


def schedule_document(
    policy: str, admin: Address, now_ms: int, beneficiaries: int, remainder: int, deadline_ms: int
) -> dict[str, Any]:
    """`beneficiaries` x 5 milestones (uneven shares), plus `remainder` allocations of a milestone that
    never reaches its quorum. Allocations in beneficiary order, as a grant round's export would be."""
    oracles = [
        PaymentVerificationKey.from_signing_key(PaymentSigningKey(oracle_seed(i))) for i in range(ORACLES)
    ]
    addresses = [str(address_of(key(f"beneficiary-{b}"))) for b in range(beneficiaries)]
    allocations = []
    for b, beneficiary in enumerate(addresses):
        milestones = [*MILESTONES, *((REMAINDER,) if b < remainder else ())]
        for m, milestone in enumerate(milestones):
            allocations.append(
                {
                    "beneficiary_address": beneficiary,
                    "token_amount": 1 + (b * 7919 + m * 104_729) % 50_000,  # uneven shares
                    "milestone_identifier": milestone,
                    "vesting_timestamp": format_timestamp(now_ms + 1_000 * (m + 1)),
                }
            )
    return {
        "network": "devnet",
        "admin": str(admin),
        "token": {"token_policy_id": policy, "token_name_utf8": TOKEN.decode()},
        "oracles": [o.payload.hex() for o in oracles],
        "quorum_threshold": QUORUM,
        "reclaim_deadline": format_timestamp(deadline_ms),
        "nonce": hashlib.blake2b(f"scale-{beneficiaries}-{now_ms}".encode(), digest_size=16).hexdigest(),
        "beneficiary_allocations": allocations,
    }


def funds_needed(allocations: int) -> tuple[int, int]:
    """(admin lovelace, token units) for registering `allocations` (min-ADA ~1.5 ADA each plus fees)."""
    return allocations * 2_500_000 + 1_000_000_000, allocations * 60_000


class CtlFailed(AssertionError):
    pass


def _milestonectl(
    socket: Path, args: tuple[str, ...], json_mode: bool, timeout: float
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "milestoned.commands.cli", "--socket", str(socket)]
    command += ["--json", *args] if json_mode else list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=os.environ)


def ctl(socket: Path, *args: str, json_mode: bool = True, timeout: float = 3600) -> Any:
    """`milestonectl ARGS --socket S [--json]`, its JSON result (or its text output without --json)."""
    done = _milestonectl(socket, args, json_mode, timeout)
    if done.returncode != 0:
        raise CtlFailed(
            f"milestonectl {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    if not json_mode:
        return done.stdout
    document = json.loads(done.stdout)
    return document.get("result", document)


def ctl_refused(socket: Path, *args: str, timeout: float = 600) -> tuple[int, str]:
    """`milestonectl ARGS --socket S` that must fail: its exit code and what it said (stdout, stderr)."""
    done = _milestonectl(socket, args, False, timeout)
    if done.returncode == 0:
        raise AssertionError(f"milestonectl {' '.join(args)} was not refused:\n{done.stdout}")
    return done.returncode, done.stdout + done.stderr


def result(answer: dict[str, Any]) -> Any:
    assert "error" not in answer, answer
    return answer["result"]


@dataclass
class Registered:
    schedule_id: str
    files: list[Path]
    """The signed registration transactions, in submission order."""
    job: dict[str, Any]


def register(daemon: Daemon, folder: Path, schedule: Path, admin: PaymentSigningKey) -> Registered:
    """`schedule register` (the build job), `tx sign`; the signed files are submitted by the caller."""
    unsigned = folder / "register"
    answer = ctl(
        daemon.socket_path,
        "schedule",
        "register",
        str(schedule),
        "--admin-address",
        str(address_of(admin)),
        "--unsigned-out",
        str(unsigned),
    )
    jobs = result(daemon.call("jobs"))
    [job] = [j for j in jobs if j["kind"] == "register"][-1:]
    admin_key = save_key(admin, folder / "admin.skey")
    ctl(daemon.socket_path, "tx", "sign", "--key", str(admin_key), str(unsigned), json_mode=True)
    files = sorted(unsigned.glob("*.signed.json"), key=lambda p: int(p.name.split("-")[1].split(".")[0]))
    assert len(files) == len(answer["transactions"]["unsigned"])
    return Registered(answer["schedule_id"], files, job)


def locked_count(daemon: Daemon, schedule_id: str) -> int:
    rows = result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
    return len(rows)


def wait_indexed(daemon: Daemon, schedule_id: str, count: int, timeout: float) -> None:
    daemon.wait_until(lambda: locked_count(daemon, schedule_id) >= count, f"{count} allocations", timeout)


def commit_quorums(daemon: Daemon, schedule_id: str) -> None:
    """Oracles 0, 2 and 4 attest M1..M5; the remainder's milestone gets two signatures, one short."""
    from milestoned.domain.attestation import sign_attestation
    from milestoned.domain.attestation_file import Attestation, attestation_document

    schedule = bytes.fromhex(schedule_id)
    documents = [
        attestation_document(
            Attestation(schedule, m.encode(), sign_attestation(oracle_seed(i), schedule, m.encode()))
        )
        for m in MILESTONES
        for i in (0, 2, 4)
    ]
    documents += [
        attestation_document(
            Attestation(
                schedule, REMAINDER.encode(), sign_attestation(oracle_seed(i), schedule, REMAINDER.encode())
            )
        )
        for i in (1, 3)
    ]
    result(daemon.call("signature.commit", {"attestations": documents}))


def released_count(daemon: Daemon, schedule_id: str) -> int:
    rows = result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
    return sum(1 for r in rows if r["released"])


def submitted_allocations(daemon: Daemon) -> list[str]:
    """Every allocation of every live or confirmed release submission (a duplicate shows twice)."""
    subs = result(daemon.call("submissions"))
    return [ref for s in subs if s["status"] in ("submitted", "confirmed") for ref in s["allocations"]]


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    value = step()
    return value, time.perf_counter() - began
