"""The socket's `log.verify` and `log.replay`: the auditor's two checks of the event log, on a live daemon.

`log.verify` checks the hash chain in a reader of its own (off the event loop), anchored on the head
recorded outside the log when there is one; `log.replay` replays the log into a fresh store up to the
live projections' position and compares the two byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from milestoned.daemon import jsonrpc
from milestoned.daemon.jsonrpc import RpcError, only_params
from milestoned.eventlog import EventLog, LoggedEvent, parse_store_url
from milestoned.projections.projector import Projector
from milestoned.projections.store import ProjectionStore

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService


class BoundedLog:
    """A read-only view of a log that ends at `end` (replay compares with the live projections there)."""

    def __init__(self, log: EventLog, end: int) -> None:
        self._log = log
        self._end = end

    def read(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        if after >= self._end:
            return []
        return self._log.read(after=after, limit=min(limit, self._end - after))


async def log_verify(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, set())
    anchor = service.log.head()  # as this process appended it; the head file outlives restarts
    if service.log.head_file is not None:
        from milestoned.eventlog.anchor import HeadFileError

        # an unreadable head file is reported by `milestoned verify` and at start
        with contextlib.suppress(HeadFileError):
            anchor = service.log.head_file.read() or anchor
    config = service.log.config

    def run() -> Any:
        from milestoned.eventlog.verify import verify

        with EventLog(config) as reader:
            return verify(reader, anchor=anchor)

    report = await asyncio.to_thread(run)
    return {
        "ok": report.ok,
        "events_checked": report.events_checked,
        "head": {"position": report.head.position, "hash": report.head.hash},
        "problems": [{"position": p.position, "message": p.message} for p in report.problems],
        "summary": report.summary(),
    }


async def log_replay(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    only_params(params, set())
    if service.projector is None:
        raise RpcError(
            jsonrpc.NOT_READY,
            "the projections are not running yet (the daemon is waiting for the chain's slot clock)",
            "wait until `milestonectl status` shows projections ready",
        )
    await service.acatch_up()
    live_dump, position = await service.read(service.projections_snapshot)
    config, slots = service.log.config, service.projector.slots

    def run() -> tuple[bytes, int]:
        with (
            tempfile.TemporaryDirectory(prefix="milestoned-replay-") as folder,
            EventLog(config) as reader,
            ProjectionStore(parse_store_url(str(Path(folder) / "replay.db"))) as target,
        ):
            bounded: Any = BoundedLog(reader, position)
            replayed = Projector(bounded, target, slots, batch_size=5000).catch_up()
            return target.dump(), replayed

    started = time.monotonic()
    replay_dump, replayed = await asyncio.to_thread(run)
    live_doc, replay_doc = orjson.loads(live_dump), orjson.loads(replay_dump)
    differing = sorted(
        name
        for name in set(live_doc["tables"]) | set(replay_doc["tables"])
        if live_doc["tables"].get(name) != replay_doc["tables"].get(name)
    )
    return {
        "equal": live_dump == replay_dump,
        "events_replayed": replayed,
        "position": position,
        "differing_tables": differing,
        "seconds": round(time.monotonic() - started, 3),
    }
