"""A large schedule's register and release show progress and survive interruption without a duplicate
transaction (issue 12, point 1; the 10,000-allocation run is `python -m bench scale`). The real daemon
process and socket, `milestonectl` as a process, the devnet in a thread of the test.

- registration: the client interrupted (Ctrl-C) while the daemon builds re-attaches to the same job
  when run again (built once); the build job counts allocations (its bar); `tx submit` of the signed
  files is cut by a kill -9 of the daemon after the second file; run again with all the files after
  the restart, it sends only the rest (the first two are answered as already submitted), and every
  allocation is locked once; `schedule register --resume` (for lost files) is refused while the
  admin's transactions are in the mempool, then builds only the allocations not locked;
- release: in rounds (small here: `release_method.ROUND_ENV`), each transaction's intent recorded before
  it is sent; the daemon is killed mid-release; the release run again after the restart sends only
  what is neither on chain nor in flight (its client interrupted by Ctrl-C detaches, and `jobs watch`
  re-attaches); every
  attested allocation is released exactly once, and the remainder (no quorum) is left locked;
- the daemon's log has a structured "job progress" line for each transaction built and submitted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from daemon_process import REPO, SETTLE_SECONDS, Daemon, short_folder, write_config
from devnet_process import devnet_thread
from scale_flow import (
    TOKEN,
    CtlFailed,
    address_of,
    commit_quorums,
    ctl,
    funds_needed,
    key,
    register,
    released_count,
    result,
    save_key,
    schedule_document,
    submitted_allocations,
    wait_indexed,
)

from milestoned.daemon.release_method import ROUND_ENV

BENEFICIARIES = 8
REMAINDER = 2
ATTESTED = BENEFICIARIES * 5


PIPES: dict[str, Any] = {
    "cwd": REPO,
    "stdout": subprocess.PIPE,
    "stderr": subprocess.STDOUT,
    "text": True,
    "env": {**os.environ, "PYTHONUNBUFFERED": "1"},
}


def ctl_command(daemon: Daemon, *args: str) -> list[str]:
    return [sys.executable, "-m", "milestoned.commands.cli", "--socket", str(daemon.socket_path), *args]


def following(client: subprocess.Popen[str]) -> str:
    """The client's line saying which job it follows (after any warnings): it polls the job now."""
    assert client.stdout is not None
    for line in client.stdout:
        if "Ctrl-C detaches" in line:
            return line
    raise AssertionError(f"the client ended without following a job (exit {client.wait()})")


def settled(daemon: Daemon, devnet: Any, schedule_id: str) -> Counter[str] | None:
    """After a kill: the allocations of the submissions, once every one is settled (an intent sent
    before the kill is reconciled by the settlement job, after the start) and the chain agrees."""
    subs = result(daemon.call("submissions"))
    if devnet.call(lambda d: d.pending()) or any(s["status"] == "submitted" for s in subs):
        return None
    confirmed = [ref for s in subs if s["status"] == "confirmed" for ref in s["allocations"]]
    return Counter(confirmed) if released_count(daemon, schedule_id) == len(confirmed) else None


def release_job(daemon: Daemon, submitted: int) -> dict[str, Any] | None:
    """The newest release job once it submitted at least `submitted` transactions."""
    jobs = [j for j in result(daemon.call("jobs")) if j["kind"] == "release"]
    return jobs[-1] if jobs and jobs[-1]["submitted"] >= submitted else None


def test_register_and_release_show_progress_and_resume_after_a_kill_without_a_duplicate() -> None:
    folder = short_folder()
    admin, operator = key("test-admin"), key("test-operator")
    with devnet_thread() as devnet:
        wallet = save_key(operator, folder / "operator.skey")
        config = write_config(
            folder,
            chain={"ogmios_url": devnet.url, "start": "origin"},
            release={"wallet_key": str(wallet), "settle_seconds": SETTLE_SECONDS},
        )
        # rounds of 6: the kill after the second transaction leaves five rounds unsent, which cannot all
        # go out between two polls of the job (with rounds of 12, two rounds could)
        daemon = Daemon(config, folder / "d.sock", folder / "daemon.log", env={ROUND_ENV: "6"})
        try:
            lovelace, tokens = funds_needed(ATTESTED + REMAINDER)
            devnet.call(lambda d: d.fund(address_of(admin), lovelace, {TOKEN: tokens}))
            for _ in range(2):  # one funding UTxO per release lane (two cores)
                devnet.call(lambda d: d.fund(address_of(operator), 500_000_000))
            daemon.start()
            now_ms = devnet.call(lambda d: d.network.start_time_ms + d.chain.slot * d.config.slot_length_ms)
            policy = devnet.call(lambda d: d.faucet.policy.hash().payload.hex())
            document = schedule_document(
                policy, address_of(admin), now_ms, BENEFICIARIES, REMAINDER, now_ms + 3_600_000
            )
            schedule = folder / "schedule.json"
            schedule.write_text(json.dumps(document))
            assert ctl(daemon.socket_path, "schedule", "validate", str(schedule))["valid"] is True

            # --- registration: the job counts allocations; tx submit resumed after a kill -9 -------------
            # the client interrupted (Ctrl-C) while the daemon builds: run again, it re-attaches to the job
            unsigned = ("--admin-address", str(address_of(admin)), "--unsigned-out", str(folder / "register"))
            first_client = subprocess.Popen(
                ctl_command(daemon, "schedule", "register", str(schedule), *unsigned), **PIPES
            )
            interrupted = following(first_client)
            first_client.send_signal(signal.SIGINT)
            first_client.communicate(timeout=120)
            if any((folder / "register").glob("register-*.json")):
                # the build ended before the Ctrl-C landed and the client wrote its files: run again into
                # the same folder, it is refused (a new build would be mixed with them); kept apart, as
                # the refusal's hint says, the run again still re-attaches to the same job
                with pytest.raises(CtlFailed, match="already holds"):
                    ctl(daemon.socket_path, "schedule", "register", str(schedule), *unsigned)
                (folder / "register").rename(folder / "register-first-client")
            registered = register(daemon, folder, schedule, admin)
            assert registered.job["job_id"] in interrupted  # the same job: built once
            assert len([j for j in result(daemon.call("jobs")) if j["kind"] == "register"]) == 1
            total = ATTESTED + REMAINDER
            assert registered.job["allocations_total"] == total
            assert registered.job["allocations_built"] == total
            assert len(registered.files) >= 3  # the reference scripts, then the allocations in two or more
            resume = {"schedule": document, "admin_address": str(address_of(admin)), "resume": True}
            devnet.call(lambda d: setattr(d, "hold_blocks", True))
            first = ctl(daemon.socket_path, "tx", "submit", *map(str, registered.files[:2]))
            assert len(first["submitted"]) == 2
            refused = daemon.call("schedule.register", resume)["error"]  # they are in the mempool
            assert "still in the mempool" in refused["message"], refused
            devnet.call(lambda d: setattr(d, "hold_blocks", False))
            schedule_id = registered.schedule_id
            in_first = len(registered.job["result"]["transactions"]["plan"]["transactions"][1]["allocations"])
            wait_indexed(daemon, schedule_id, in_first, timeout=180)
            # the signed files lost: --resume builds only what is not locked (not submitted here)
            rest = result(daemon.call("schedule.register", resume))["transactions"]["plan"]["transactions"]
            assert rest[0]["allocations"][0]["index"] == in_first
            assert sum(len(t["allocations"]) for t in rest) == total - in_first
            daemon.signal(signal.SIGKILL)
            daemon.start()
            again = ctl(daemon.socket_path, "tx", "submit", str(registered.files[0].parent))
            assert again["already_submitted"] == first["submitted"]  # not sent twice
            assert len(again["submitted"]) == len(registered.files) - 2
            wait_indexed(daemon, schedule_id, total, timeout=180)
            rows = result(daemon.call("claimable", {"schedule_id": schedule_id}))["allocations"]
            assert len({r["allocation"] for r in rows}) == total  # each locked once

            # --- release: rounds; the daemon is killed mid-way; the client detaches on Ctrl-C -------------
            commit_quorums(daemon, schedule_id)
            killed = subprocess.Popen(ctl_command(daemon, "release", "--schedule-id", schedule_id), **PIPES)
            job = daemon.wait_until(lambda: release_job(daemon, 2), "two release transactions", timeout=180)
            assert job["allocations_total"] == ATTESTED
            killed_job = job["job_id"]
            daemon.signal(signal.SIGKILL)
            killed.communicate(timeout=120)
            daemon.start()
            before = daemon.wait_until(
                lambda: settled(daemon, devnet, schedule_id), "the killed release settled"
            )
            assert before and max(before.values()) == 1 and len(before) < ATTESTED

            devnet.call(lambda d: setattr(d, "hold_blocks", True))  # the client waits for confirmations
            client = subprocess.Popen(ctl_command(daemon, "release", "--schedule-id", schedule_id), **PIPES)
            watching = following(client)
            job = daemon.wait_until(lambda: release_job(daemon, 0), "the resumed release job", timeout=180)
            assert job["job_id"] in watching, watching
            client.send_signal(signal.SIGINT)  # Ctrl-C: the client detaches, the job goes on
            output, _ = client.communicate(timeout=120)
            assert "detached" in output and f"jobs watch {job['job_id']}" in output, output
            devnet.call(lambda d: setattr(d, "hold_blocks", False))
            watched = ctl(daemon.socket_path, "jobs", "watch", job["job_id"])
            assert watched["state"] == "done", watched
            after = Counter(submitted_allocations(daemon))
            assert max(after.values()) == 1, [ref for ref, n in after.items() if n > 1]  # none twice
            assert len(after) == ATTESTED  # every attested allocation, the remainder none
            assert watched["allocations_total"] == ATTESTED - len(before)  # only what was left
            daemon.wait_until(lambda: released_count(daemon, schedule_id) == ATTESTED, "all released", 180)

            progress = [json.loads(line) for line in daemon.logs().splitlines() if '"job progress"' in line]
            by_job: dict[str, list[int]] = {}
            for line in progress:
                if line["step"] == "submitted":
                    by_job.setdefault(line["job_id"], []).append(line["allocations_submitted"])
            assert len(by_job) == 2  # the release killed mid-way and the one that finished it
            assert all(counts == sorted(counts) for counts in by_job.values())
            assert by_job.pop(watched["job_id"])[-1] == watched["allocations_total"]  # all it sent
            # the killed job logged at least the two submissions the test waited for, and no more than
            # what settled of it: a transaction sent in the instant before the kill (its intent
            # recorded, its progress line not yet written) is counted in `before`, not in the log
            assert list(by_job) == [killed_job]
            assert len(by_job[killed_job]) >= 2 and by_job[killed_job][-1] <= len(before)
            assert any(p["step"] == "built" and p["job_id"].startswith("register") for p in progress)
            assert result(daemon.call("log.verify"))["ok"] is True
            assert "Traceback" not in daemon.logs()
        finally:
            daemon.stop()
            shutil.rmtree(folder, ignore_errors=True)
