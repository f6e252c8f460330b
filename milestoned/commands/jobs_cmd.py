"""`milestonectl jobs` and `jobs watch ID`: long work in the daemon, followed with a live progress bar.

Releases (and registrations that build transactions) run in the daemon as jobs: the request answers a
job id at once, and this module polls the job (`job` on the socket) and draws transactions built,
submitted and confirmed. Ctrl-C only detaches: the job goes on in the daemon, and `jobs watch ID`
re-attaches. Nothing here can time out while the daemon works: each poll is a quick question.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from milestoned.commands.output import Column, CommandError, ExitCode, Output
from milestoned.commands.socket_client import DaemonClient, call

POLL_S = 0.5


def finished(job: dict[str, Any], until_settled: bool) -> bool:
    """Done when the job ended and (if asked) every transaction it submitted is settled on chain."""
    if job["state"] == "running":
        return False
    return not until_settled or job["state"] == "failed" or job["settled"] >= job["submitted"]


def watch(
    socket: Path, job_id: str, out: Output, *, until_settled: bool = True, timeout_s: float = 0
) -> dict[str, Any]:
    """Follow the job until it finished (and its transactions settled); its last state."""
    deadline = time.monotonic() + timeout_s if timeout_s else None
    with DaemonClient(socket) as client:
        job: dict[str, Any] = client.call("job", {"job_id": job_id})
        try:
            if out.json_mode:
                while not finished(job, until_settled) and (deadline is None or time.monotonic() < deadline):
                    time.sleep(POLL_S)
                    job = client.call("job", {"job_id": job_id})
                return job
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=out.stdout,
            ) as bar:
                task = bar.add_task(job["phase"], total=None, counts="")
                bar.update(task, counts=_counts(job))  # everything drawn once (rich imports as it goes)
                # said once all is loaded: a Ctrl-C during an import can be swallowed by importlib
                out.line(
                    f"job {job_id}: Ctrl-C detaches (the job goes on); "
                    f"`milestonectl jobs watch {job_id}` re-attaches"
                )
                while True:
                    total, done = bar_position(job)
                    bar.update(
                        task,
                        description=f"{job['kind']} {job['phase']}",
                        total=total,
                        completed=done,
                        counts=_counts(job),
                    )
                    if finished(job, until_settled) or (deadline is not None and time.monotonic() > deadline):
                        break
                    time.sleep(POLL_S)
                    job = client.call("job", {"job_id": job_id})
        except KeyboardInterrupt:
            out.line(f"detached; the job goes on in the daemon: milestonectl jobs watch {job_id}")
            raise
    return job


def bar_position(job: dict[str, Any]) -> tuple[int | None, int]:
    """(total, done) of the bar. By allocations when the job knows how many it handles (a schedule's
    registration or release: the total is known from the start, so the bar and its time estimate are
    right early): those built into transactions for a registration, those submitted for a release.
    Otherwise by transactions: submitted, then confirmed, of those built."""
    total = job.get("allocations_total")
    if total:
        done = job["allocations_built"] if job["kind"] == "register" else job["allocations_submitted"]
        return int(total), int(done)
    done = job["confirmed"] if job["phase"] in ("confirming", "done") else job["submitted"]
    return job["built"] or None, done


def _counts(job: dict[str, Any]) -> str:
    transactions = f"built {job['built']}  submitted {job['submitted']}  confirmed {job['confirmed']}"
    if not job.get("allocations_total"):
        return transactions
    done = job["allocations_built"] if job["kind"] == "register" else job["allocations_submitted"]
    return f"{done:,}/{job['allocations_total']:,} allocations  {transactions}"


def raise_if_failed(job: dict[str, Any]) -> None:
    if job["state"] == "failed":
        error = job.get("error") or {}
        hint = (
            str((error.get("data") or {}).get("hint", ""))
            or "`milestonectl submissions` shows what was submitted"
        )
        raise CommandError(
            f"job {job['job_id']} failed: {error.get('message', 'unknown error')}", hint, ExitCode.FAILED
        )


def list_jobs(socket: Path, out: Output) -> int:
    jobs: list[dict[str, Any]] = call(socket, "jobs")
    if out.json_mode:
        out.emit_json({"ok": True, "result": jobs})
    elif not jobs:
        out.line("no jobs since the daemon started")
    else:
        out.table(
            "jobs",
            (
                Column("job", no_wrap=True),
                Column("state"),
                Column("phase"),
                Column("built"),
                Column("submitted"),
                Column("confirmed"),
                Column("by"),
            ),
            [
                (
                    j["job_id"],
                    j["state"],
                    j["phase"],
                    str(j["built"]),
                    str(j["submitted"]),
                    str(j["confirmed"]),
                    j["caller"],
                )
                for j in jobs
            ],
        )
    return ExitCode.OK


def watch_command(socket: Path, job_id: str, out: Output) -> int:
    job = watch(socket, job_id, out)
    if out.json_mode:
        out.emit_json({"ok": job["state"] != "failed", "result": job})
        return ExitCode.OK if job["state"] != "failed" else ExitCode.FAILED
    raise_if_failed(job)
    out.line(
        f"job {job_id} {job['state']}: {job['submitted']} transaction(s) submitted, "
        f"{job['confirmed']} confirmed",
        style="green",
    )
    return ExitCode.OK
