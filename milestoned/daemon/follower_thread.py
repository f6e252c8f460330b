"""The chain follower on an event loop of its own, in a thread of its own.

Why: the indexer appends each block's events (and its cursor) to the log synchronously, between two
chain-sync messages; on the daemon's loop a slow database would hold up every socket answer and the
systemd watchdog. In its own thread, only chain sync waits for the database, which is what it must do
anyway (a block is processed only once recorded). The daemon's loop talks to it through thread-safe
calls: stop it, cancel it, ask it for a checkpoint.

One interpreter lock serves both threads: while the follower indexes (decoding blocks, assembling a
registration, deriving a schedule id: pure Python for seconds), the loop's thread gets the lock back only
when the follower is made to give it up, by default every 5 ms. A socket answer needs the lock a few
times (woken by the socket, handing a read to a worker thread, woken by its result), so at 5 ms a wait
answers in tens of milliseconds during a catch-up, and in hundreds when several clients queue. While
the follower thread runs, the interpreter switches every `SWITCH_INTERVAL_S` instead (the cost: a
little more switching in the follower's own work). 0.05 ms: a worker thread answering a claimable question
gives the lock up at every SQLite call and waits up to an interval to get it back. bench/scale_queries.py
(10,000 allocations, 50 clients, three back-to-back runs each on a quiet machine): p99 while indexing
status/claimable 45-56/67-89 ms at 0.5 ms, 24-37/41-56 ms at 0.1 ms, 27-35/34-42 ms at 0.05 ms; the
catch-up took 1.1-1.4 s at each.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger("milestoned.daemon")

SWITCH_INTERVAL_S = 0.00005
"""How long one thread may hold the interpreter lock while another waits for it (Python's default: 5 ms)."""


class FollowerThread:
    """Runs `body()` (the follower's restart loop) in a thread on its own loop."""

    def __init__(self, body: Callable[[], Coroutine[Any, Any, None]], name: str = "milestoned-chain-sync"):
        self._body = body
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self.follower: Any = None
        """The ChainFollower once the thread made it (set by `body` through `service.follower`)."""

    async def run(self) -> None:
        """Await the thread's end (a task on the daemon's loop awaits this)."""
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, SWITCH_INTERVAL_S))
        try:
            await asyncio.to_thread(self._main)
        finally:
            sys.setswitchinterval(previous)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._body(), name=self._name)
            self._ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the follower's loop, soon (thread-safe; nothing happens once it has ended)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(fn)

    def ended(self) -> bool:
        """Whether the thread's loop has finished (after `stop`, `cancel` or a failure)."""
        loop = self._loop
        return loop is not None and loop.is_closed()

    def cancel(self) -> None:
        task = self._task
        if task is not None:
            self.call(task.cancel)

    async def submit(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Await `coro` run on the follower's loop (e.g. a checkpoint); None when the thread is gone."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            return None
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:
            coro.close()
            return None
        return await asyncio.wrap_future(future)
