"""The web view inside the daemon: the routes on the daemon's own HTTP listener, at `[web] listen`.

It runs on the daemon's event loop like the socket: pages are computed from a cached snapshot (one read
of the projections per change, not per request), so a crowd of readers costs little and a slow reader
costs one idle connection (the listener's timeouts and connection cap), never the indexer's time.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from milestoned.daemon.http_endpoint import HttpListener
from milestoned.web.routes import WebRoutes
from milestoned.web.source import DaemonSource

if TYPE_CHECKING:
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.web")


class WebServer:
    def __init__(self, service: DaemonService, host: str, port: int, *, verify: bool = True) -> None:
        self.source = DaemonSource(service)
        self.routes = WebRoutes(
            self.source.snapshot, service.config.chain.cardano_network, service.config.web.host_names()
        )
        self.listener = HttpListener(host, port, self.routes.handle, name="web", max_connections=128)
        self.host = host
        self._verify = verify
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.listener.bound_port}/"

    async def start(self) -> None:
        await self.listener.start()
        self._tasks.append(asyncio.create_task(self.source.prepare(), name="web-prepare"))
        if self._verify:
            self._tasks.append(asyncio.create_task(self.source.verify_periodically(), name="web-verify"))
        log.info("web view listening", url=self.url)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self.listener.stop()
