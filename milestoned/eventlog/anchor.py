"""The log's head kept outside the log: a small file written atomically after every append.

Why: a hash chain catches an edit in the middle of the log, but not a cut tail (delete the newest rows
and the rest still chains) nor a history rewritten with every later hash recomputed. The head (position
and hash of the last record) kept where deleting rows cannot also erase it closes the first gap on this
machine: the log must still end at, or go past, that head with that hash (`verify(anchor=...)`), and a
log shorter than its recorded head is never appended to. Publishing the head elsewhere (the recovery
card, an audit report) closes the second for whoever keeps a copy: a rewritten history no longer
matches a head published before.

What it does not cover: someone who can write both the database and this file (root on the machine) can
rewrite both consistently; only a head published off the machine catches that.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from milestoned.eventlog.hashchain import LogHead

HEAD_FILE_NAME = "log-head.json"
log = logging.getLogger(__name__)


class HeadFileError(ValueError):
    """The head file exists but cannot be read as a head: it says which file and what is wrong."""


@dataclass(frozen=True, slots=True)
class HeadFile:
    """`{"position": N, "hash": "<hex>"}` in one file, replaced atomically (write, then rename)."""

    path: Path

    def read(self) -> LogHead | None:
        """The recorded head, or None when no head was recorded yet (a new log)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            document = orjson.loads(raw)
            position, digest = document["position"], document["hash"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise HeadFileError(f"{self.path} is not a log head ({exc})") from None
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise HeadFileError(f"{self.path}: position must be a whole number, got {position!r}")
        if not isinstance(digest, str) or len(digest) != 64:
            raise HeadFileError(f"{self.path}: hash must be 64 hex digits, got {digest!r}")
        return LogHead(position=position, hash=digest)

    def write(self, head: LogHead) -> None:
        """Replace the file with `head` (atomically: a reader sees the old head or the new one).

        Called after the append committed: a failure here must not pass for a failed append, so it is
        logged (the next append tries again) rather than raised.
        """
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(orjson.dumps({"position": head.position, "hash": head.hash}))
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("cannot record the log head in %s: %s", self.path, exc)

    def sync(self) -> None:
        """Flush the file to disk (on close: between appends a rename is enough, see `EventLog`)."""
        with contextlib.suppress(FileNotFoundError), open(self.path, "rb") as handle:
            os.fsync(handle.fileno())
