"""A registration sent again re-attaches to its build job while the daemon keeps that job, and only as
long: the job's request key lives on the job, so the rule that retires finished jobs (the last
`KEEP_FINISHED`) retires it too. Before, a dict of every registration ever sent grew for the daemon's
life. In process, on SQLite stores: a registration without `admin_address` records the schedule and needs
no chain."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from daemon_process import EXAMPLES
from test_daemon_query_catch_up import ROOT, _service

from milestoned.daemon import jsonrpc, registration_method
from milestoned.daemon.demo_wiring import demo_schedule_document
from milestoned.daemon.jobs import KEEP_FINISHED, Jobs, Progress
from milestoned.daemon.jsonrpc import RpcError


async def _finished(service: Any, job_id: str) -> dict[str, Any]:
    job = service.jobs.get(job_id)
    assert job.task is not None
    await job.task
    return job.to_json(0)


async def test_a_finished_registration_is_forgotten_with_the_jobs_and_a_late_re_attach_is_told_so(
    tmp_path: Path,
) -> None:
    document = demo_schedule_document(EXAMPLES, "ab" * 28, int(time.time() * 1000))
    request = {"schedule": document, "background": True}
    with _service(tmp_path, projector=False) as (service, _, _):
        first = await registration_method.schedule_register(service, dict(request), ROOT)
        done = await _finished(service, first["job_id"])
        assert done["state"] == "done" and done["result"]["registered"] is True
        again = await registration_method.schedule_register(service, dict(request), ROOT)
        assert again == {"job_id": first["job_id"], "reattached": True}

        async def nothing(progress: Progress) -> None:
            return None

        for _ in range(KEEP_FINISHED):  # other work finishes: the registration is the oldest of them
            await _finished(service, service.jobs.start("release", "test", nothing).id)
        assert first["job_id"] not in {j.id for j in service.jobs.all()}
        assert len(service.jobs.all()) == KEEP_FINISHED
        assert not any(j.kind == "register" for j in service.jobs.all())  # its request key went with it

        with pytest.raises(RpcError) as forgotten:
            service.jobs.get(first["job_id"])
        assert forgotten.value.code == jsonrpc.NOT_FOUND
        assert forgotten.value.message == (
            f"no job {first['job_id']!r}: the daemon keeps its running jobs and its last {KEEP_FINISHED} "
            "finished ones, in memory until it restarts; an older or mistyped job is not known"
        )
        fresh = await registration_method.schedule_register(service, dict(request), ROOT)
        assert "reattached" not in fresh and fresh["job_id"] != first["job_id"]
        repeated = await _finished(service, fresh["job_id"])
        assert (repeated["result"]["registered"], repeated["result"]["already_registered"]) == (False, True)


async def test_the_jobs_kept_are_those_that_finished_last_not_those_that_started_last() -> None:
    """A long job (a 10,000-allocation registration) that started before many short ones is kept when it
    ends, for its watcher to read; the short job that finished first is the one forgotten."""
    jobs = Jobs()
    release = asyncio.Event()

    async def long(progress: Progress) -> str:
        await release.wait()
        return "built"

    async def short(progress: Progress) -> None:
        return None

    slow = jobs.start("register", "test", long, key="request")
    quick = [jobs.start("release", "test", short) for _ in range(KEEP_FINISHED)]
    await asyncio.gather(*(j.task for j in quick if j.task is not None))
    assert len(jobs.all()) == KEEP_FINISHED + 1  # the running one is never counted
    release.set()
    assert slow.task is not None
    await slow.task
    kept = {j.id for j in jobs.all()}
    assert slow.id in kept and quick[0].id not in kept and {j.id for j in quick[1:]} <= kept
    assert jobs.find("request") is slow and jobs.get(slow.id).result == "built"
