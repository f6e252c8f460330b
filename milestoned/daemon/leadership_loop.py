"""The daemon's side of the election: follow until elected, lead until the heartbeat fails, and switch the
service between the two (`leadership` holds the database mechanics).

On election: the fence of the new term goes on the event log first, then the log's head and the local
index are re-read (the old leader may have appended until a moment ago), `LeaderElected` is recorded, and
only then do the chain follower and the writing jobs start. On losing the lock (the heartbeat fails, or
the term in the store moved on): the follower's fence goes on the log at once, so nothing more is
written, and the chain follower is stopped; the daemon keeps answering queries and tries to lead again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from milestoned.daemon.leadership import PostgresElection, refuse_all
from milestoned.domain.leadership import Leadership, Role
from milestoned.eventlog.events import LeaderElected

if TYPE_CHECKING:
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.leadership")


class LeadershipLoop:
    def __init__(
        self,
        service: DaemonService,
        election: PostgresElection,
        start_leading: Callable[[], None],
        stop_leading: Callable[[], Awaitable[None]],
    ) -> None:
        self.service = service
        self.election = election
        self.start_leading = start_leading
        self.stop_leading = stop_leading
        self.elections = 0
        self.step_downs = 0

    async def run(self) -> None:
        service = self.service
        while True:
            await asyncio.sleep(self.election.retry_seconds)  # the first round was made at start
            try:
                if service.leadership.role is Role.LEADER:
                    leads = await asyncio.wait_for(
                        asyncio.to_thread(self.election.still_leads), self.election.retry_seconds * 2
                    )
                    if not leads:
                        await self.step_down("the heartbeat on the leadership connection failed")
                else:
                    outcome = await asyncio.to_thread(self.election.try_lead)
                    if outcome.role is Role.LEADER:
                        await self.take_over(outcome)
                    else:
                        service.leadership = outcome
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                self.election.close()
                await self.step_down("the leadership connection stopped answering")
            except Exception as exc:
                if service.leadership.role is Role.LEADER:
                    await self.step_down(f"{type(exc).__name__}: {exc}")
                else:
                    log.warning("leader election failed; retrying", error=f"{type(exc).__name__}: {exc}")

    async def take_over(self, elected: Leadership) -> None:
        service = self.service
        service.log.fence = self.election.fence(elected.term)
        try:
            await service.write(lambda: service.log.head(refresh=True))
            await service.afold()
            await service.aappend([LeaderElected(term=elected.term, leader=elected.leader)])
        except BaseException:
            service.log.fence = refuse_all
            self.election.close()
            raise
        service.leadership = elected
        self.elections += 1
        log.info(
            "leading", term=elected.term, leader=elected.leader, log_position=service.log.head().position
        )
        self.start_leading()

    async def step_down(self, reason: str) -> None:
        service = self.service
        service.log.fence = refuse_all
        was = service.leadership
        service.leadership = Leadership(Role.FOLLOWER, was.term, "")
        self.step_downs += 1
        log.warning("stepped down: no longer the leader", term=was.term, reason=reason)
        self.election.close()
        await self.stop_leading()
