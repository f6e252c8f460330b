"""Long work as jobs: a request starts it and gets a job id at once; progress is asked for, not waited on.

WHY: releasing 2,000 allocations or building the registration of a large schedule takes minutes. Done
inside the request, the client's read timed out while the daemon went on, nothing showed progress, and
the caller could not tell a busy daemon from a dead one. A job runs as a task on the daemon's loop; the
request that starts it answers `{"job_id": ...}`, and `job` / `jobs` report its state and counters
(transactions built, submitted, confirmed), so `milestonectl` can draw a live bar and re-attach later.

Jobs live in memory: a restart forgets them, but never what they did (each submission is in the log as
it is submitted, and `submissions` shows it). Running jobs are kept, and the `KEEP_FINISHED` most recent
finished ones (with their results, which for a large registration are its unsigned transactions, tens
of MB): that one rule also ends what refers to a job by its `key` (a repeated request re-attaching).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError

log = structlog.get_logger("milestoned.jobs")

KEEP_FINISHED = 100


@dataclass
class Progress:
    """Counters a job's work updates as it goes (read by `job` requests at any moment).

    Transactions built and submitted, and (for a schedule's registration or release of thousands) the
    allocations: how many the job will handle in all, and how many are in the transactions built and
    submitted so far, so the bar and its time estimate move by allocations, whose count is known from
    the start, not by transactions, whose count is only known at the end. Each change is also a
    structured line in the daemon's log ("job progress"), for an operator who reads logs, not bars.
    """

    phase: str = "starting"
    built: int = 0
    submitted: int = 0
    tx_ids: list[str] = field(default_factory=list)
    allocations_total: int | None = None
    allocations_built: int = 0
    allocations_submitted: int = 0
    job_id: str = ""

    def count_built(self, built: Any) -> None:
        """The txbuilder's `on_built` hook: one more transaction built (the bar moves while it builds)."""
        self.built += 1
        self.allocations_built += len(getattr(built, "details", {}).get("allocations", ()))
        self.report("built")

    def count_submitted(self, tx_id: str, allocations: int) -> None:
        self.submitted += 1
        self.tx_ids.append(tx_id)
        self.allocations_submitted += allocations
        self.report("submitted", tx_id=tx_id)

    def report(self, step: str, **extra: Any) -> None:
        log.info(
            "job progress",
            job_id=self.job_id or None,
            step=step,
            phase=self.phase,
            built=self.built,
            submitted=self.submitted,
            allocations_total=self.allocations_total,
            allocations_built=self.allocations_built,
            allocations_submitted=self.allocations_submitted,
            **extra,
        )


@dataclass
class Job:
    id: str
    kind: str
    caller: str
    progress: Progress = field(default_factory=Progress)
    state: str = "running"  # running | done | failed
    result: Any = None
    error: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    task: asyncio.Task[None] | None = None
    key: str | None = None
    """The request this job does, when the same request sent again may re-attach to it (`Jobs.find`)."""

    def to_json(self, confirmed: int) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "kind": self.kind,
            "state": self.state,
            "phase": self.progress.phase,
            "built": self.progress.built,
            "submitted": self.progress.submitted,
            "confirmed": confirmed,
            "tx_ids": list(self.progress.tx_ids),
            "allocations_total": self.progress.allocations_total,
            "allocations_built": self.progress.allocations_built,
            "allocations_submitted": self.progress.allocations_submitted,
            "caller": self.caller,
            "started_ms": int(self.started * 1000),
            "finished_ms": None if self.finished is None else int(self.finished * 1000),
            "result": self.result,
            "error": self.error,
        }


Work = Callable[[Progress], Awaitable[Any]]


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)

    def start(self, kind: str, caller: str, work: Work, *, key: str | None = None) -> Job:
        job = Job(id=f"{kind}-{int(time.time())}-{next(self._ids)}", kind=kind, caller=caller, key=key)
        job.progress.job_id = job.id
        job.task = asyncio.create_task(self._run(job, work), name=f"job {job.id}")
        self._jobs[job.id] = job
        self._forget_old()
        log.info("job started", job_id=job.id, caller=caller)
        return job

    async def _run(self, job: Job, work: Work) -> None:
        try:
            job.result = await work(job.progress)
            job.state = "done"
        except RpcError as error:
            job.state, job.error = "failed", error.to_json()
        except asyncio.CancelledError:
            job.state, job.error = "failed", {"code": jsonrpc.INTERNAL_ERROR, "message": "the daemon stopped"}
            raise
        except Exception as exc:  # a job must never take the daemon down
            log.exception("job failed", job_id=job.id)
            job.state = "failed"
            job.error = {"code": jsonrpc.INTERNAL_ERROR, "message": f"{type(exc).__name__}: {exc}"}
        finally:
            job.finished = time.time()
            job.progress.phase = job.state
            log.info("job finished", job_id=job.id, state=job.state, submitted=job.progress.submitted)
            self._forget_old()  # as each job ends, not only when the next starts: results are large

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise RpcError(
                jsonrpc.NOT_FOUND,
                f"no job {job_id!r}: the daemon keeps its running jobs and its last {KEEP_FINISHED} finished "
                "ones, in memory until it restarts; an older or mistyped job is not known",
                "`milestonectl jobs` lists the jobs kept; `milestonectl submissions` shows every submission",
            )
        return job

    def find(self, key: str) -> Job | None:
        """The latest job started for `key` that is still kept (running, or among the last finished)."""
        found = [j for j in self._jobs.values() if j.key == key]
        return max(found, key=lambda j: j.started) if found else None

    def all(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.started)

    def _forget_old(self) -> None:
        """Keep the `KEEP_FINISHED` that finished last (by when they finished, so a long job that started
        before many short ones is not forgotten the moment it ends, under its watcher's eyes)."""
        finished = sorted(
            (j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished or 0
        )
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]

    async def cancel_all(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
