"""What the health answer checks beyond sync: can the stores be written, can the projections be read,
is the chain follower failing. The imperative side of `health`: it probes and remembers failures.

Why a probe and remembered failures both: a full disk shows in a probe before the next block needs to be
written (and after a quiet hour with nothing to write), while a corrupt projections.db or a follower that
dies on every restart shows only when they are used, so each such failure is recorded where it happens
(`DaemonService.append` / `catch_up`, the follower's restart loop) and cleared by the next success.

The store probe writes, fsyncs and removes a small file beside each SQLite store: what SQLite needs to
grow the file or write its journal. A PostgreSQL store is not probed (its disk is the server's); its
write failures are still recorded when an append fails.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from milestoned.daemon.health import Problem

PROBE_NAME = ".milestoned-write-probe"
PROBE_BYTES = 64 * 1024
FOLLOWER_FAILURE_WINDOW_S = 60.0
"""A follower failure counts against health for this long (it restarts after 5 s; one that keeps
failing stays unhealthy, one that recovered stops counting)."""


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def probe_directory(folder: Path) -> str | None:
    """None when `folder` takes a small write (written, fsynced, removed); else the reason."""
    probe = folder / PROBE_NAME
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            written = 0
            block = b"\0" * 4096
            while written < PROBE_BYTES:
                written += os.write(fd, block)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot write to {folder}: {exc.strerror or exc}"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None


@dataclass
class HealthChecks:
    """Failures seen by the daemon, and the store probe's last answer."""

    store_folders: tuple[Path, ...] = ()
    """Folders of the SQLite stores (the log, the projections) to probe; empty for PostgreSQL."""
    clock: Callable[[], float] = time.monotonic
    store_probe_error: str | None = None
    store_write_error: str | None = None
    projections_error: str | None = None
    follower_error: str | None = None
    follower_failed_at: float | None = None
    store_write_failures: int = 0
    """Probes and appends that failed, since the start."""
    projection_failures: int = 0
    follower_failures: int = 0
    _projections_failing: bool = field(default=False, repr=False)

    def probe(self) -> None:
        """Probe every store folder now (the scheduler does this every few seconds)."""
        errors = [e for e in (probe_directory(folder) for folder in self.store_folders) if e]
        self.store_probe_error = "; ".join(errors) if errors else None
        if errors:
            self.store_write_failures += 1

    def store_write_failed(self, exc: BaseException) -> None:
        self.store_write_error = f"appending to the event log failed: {describe(exc)}"
        self.store_write_failures += 1

    def store_write_ok(self) -> None:
        self.store_write_error = None

    def projections_failed(self, exc: BaseException) -> None:
        """The projections could not be updated or read; counted once per failing spell."""
        self.projections_error = describe(exc)
        if not self._projections_failing:
            self.projection_failures += 1
            self._projections_failing = True

    def projections_ok(self) -> None:
        self.projections_error = None
        self._projections_failing = False

    def follower_failed(self, exc: BaseException) -> None:
        self.follower_error = describe(exc)
        self.follower_failed_at = self.clock()
        self.follower_failures += 1

    def problems(self) -> tuple[Problem, ...]:
        found: list[Problem] = []
        for error in (self.store_probe_error, self.store_write_error):
            if error:
                found.append(
                    Problem(
                        "store",
                        f"{error}; free space on that disk (or fix the folder's owner and mode); "
                        "nothing new can be recorded until then",
                    )
                )
        if self.projections_error:
            found.append(
                Problem(
                    "projections",
                    f"the projections cannot be read or updated: {self.projections_error}; they are "
                    "rebuilt from the log: stop the daemon, move projections.db away, start it again",
                )
            )
        if (
            self.follower_error
            and self.follower_failed_at is not None
            and self.clock() - self.follower_failed_at < FOLLOWER_FAILURE_WINDOW_S
        ):
            found.append(
                Problem(
                    "follower",
                    f"the chain follower failed {self.follower_failures} time(s), last "
                    f"{self.clock() - self.follower_failed_at:.0f} s ago: {self.follower_error}; "
                    "it restarts by itself; see the daemon's log",
                )
            )
        return tuple(found)


def sqlite_folders(*configs: object) -> tuple[Path, ...]:
    """The folders of the SQLite stores among `configs` (each probed once)."""
    from milestoned.eventlog.config import SQLiteConfig

    folders: list[Path] = []
    for config in configs:
        if isinstance(config, SQLiteConfig):
            folder = Path(config.path).resolve().parent
            if folder not in folders:
                folders.append(folder)
    return tuple(folders)
