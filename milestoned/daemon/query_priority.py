"""Socket queries first: the daemon's background threads pause at safe points while a query is answered.

Why: one interpreter lock serves the event loop (the socket), the chain follower's thread and the
projections' catch-up. While the follower indexes a large chain (pure Python for seconds), every thread
that wants the lock gets it in turn, so a burst of queries (50 clients asking at once as the daemon
starts) got about a third of the interpreter and queued behind itself for 40-60 ms, though it was
15 ms of work (bench/scale_queries.py, `scale.*_first_requests_at_once`). Background work can wait a
few milliseconds; a client should not. So the socket counts the read-only requests it is answering
(`answering`), and the follower (between two blocks) and the projections job (between two batches)
call `pause()`: while any query is being answered it waits, without the lock, until none is, or
`max_pause_s` at most, so that a client that keeps the daemon busy only slows indexing, never stops it
(and nothing waits on itself: a query that waits for the follower gets it after one pause).

Changes (mutating methods) are not counted: a release or a registration may run for minutes and waits
for the chain; it must not hold the follower back at every block. Thread-safe; `pause` is for worker
threads only (on the event loop it would hold up the very answers it waits for).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from milestoned.daemon.service import DaemonService

MAX_PAUSE_S = 0.05
"""The longest one safe point waits for queries (a query answers in 0.1-0.5 ms; a burst of 50 in ~15)."""


class QueryPriority:
    """The read-only requests being answered, and the pause background threads take for them."""

    def __init__(self, max_pause_s: float = MAX_PAUSE_S) -> None:
        self.max_pause_s = max_pause_s
        self._lock = threading.Lock()
        self._answering = 0
        self._idle = threading.Event()
        self._idle.set()
        self.waiting = 0
        """How many background threads are waiting now."""
        self.pauses = 0
        """How many times a background thread waited for queries (the daemon's metrics show it)."""
        self.paused_s = 0.0
        """Their total wait, in seconds."""

    @property
    def busy(self) -> int:
        """How many queries are being answered now."""
        return self._answering

    def begin(self) -> None:
        with self._lock:
            self._answering += 1
            self._idle.clear()

    def end(self) -> None:
        with self._lock:
            self._answering -= 1
            if self._answering <= 0:
                self._answering = 0
                self._idle.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around one query's answer (on the event loop)."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    def pause(self) -> bool:
        """At a background thread's safe point: wait (without the interpreter lock) while queries are
        being answered, at most `max_pause_s`. Whether it waited."""
        if self._idle.is_set():
            return False
        began = time.monotonic()
        with self._lock:
            self.waiting += 1
        try:
            self._idle.wait(self.max_pause_s)
        finally:
            with self._lock:
                self.waiting -= 1
                self.pauses += 1
                self.paused_s += time.monotonic() - began
        return True


async def start_worker_threads(service: DaemonService, readers: int) -> None:
    """Start the service's worker threads now, each with its store connection open (before the socket
    opens).

    The pool would start them at the first reads: in the first burst of queries, while the chain
    follower begins its catch-up, and each start waits on the loop for the new thread to get the
    interpreter lock (tens of milliseconds in all, traced). The barrier makes the `readers` reads run at
    once, so that the pool starts a thread for each and each opens its connection (a pool that already
    had idle threads breaks the barrier after a while: the reads are done all the same)."""
    barrier = threading.Barrier(readers)

    def open_reader() -> int:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5.0)
        return service.projections.position()

    await asyncio.gather(*(service.read(open_reader) for _ in range(readers)))
    await service.write(service.log.head)
