"""Reading and writing the small text files milestonectl works with, with errors a person can act on.

Every file the offline commands touch is small JSON text (schedules, key envelopes, attestations), so a
size cap turns "pointed at the wrong file" (a disk image, a log) into a clear error instead of a long
wait; and a missing file, a directory or a permission problem each get their own message and fix.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from milestoned.commands.output import CommandError, ExitCode

SCHEDULE_MAX_BYTES = 32 * 1024 * 1024
SMALL_FILE_MAX_BYTES = 64 * 1024  # key envelopes and attestation files are a few hundred bytes


def read_text(path: Path, what: str, max_bytes: int = SMALL_FILE_MAX_BYTES) -> str:
    """The UTF-8 text of `path`; `what` names the file in errors ("schedule file", "key file", …)."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise CommandError(f"{what} {path} is a directory", f"give the path of the {what} itself")
        if size > max_bytes:
            raise CommandError(
                f"{what} {path} is {size} bytes, more than the {max_bytes} a {what} can be",
                f"check that {path} is the {what} you meant",
                ExitCode.FAILED,
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(
            f"{what} {path} does not exist", "check the path and the current directory"
        ) from None
    except PermissionError:
        raise CommandError(
            f"{what} {path} cannot be read: permission denied",
            "run as the user who owns it, or ask its owner for read access",
        ) from None
    except OSError as error:
        raise CommandError(f"{what} {path} cannot be read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError(
            f"{what} {path} is not UTF-8 text", f"check that {path} is the {what} you meant", ExitCode.FAILED
        ) from None


def write_text_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write `text` to `path` through a temporary file and a rename, so a crash never leaves half a file."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise CommandError(
            f"cannot write {path}: the directory {directory} does not exist",
            "create it, or choose another --out",
        ) from None
    except PermissionError:
        raise CommandError(
            f"cannot write {path}: permission denied in {directory}", "choose another --out"
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise CommandError(
            f"cannot write {path}: {error.strerror or error}", "choose another --out"
        ) from None


def write_envelopes(directory: Path, prefix: str, envelopes: Iterable[dict[str, Any]]) -> list[str]:
    """Write unsigned transaction envelopes as DIRECTORY/PREFIX-N.unsigned.json (N from 1, in order, as
    `tx sign` and `tx submit` take them), creating the directory; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for number, envelope in enumerate(envelopes, start=1):
        target = directory / f"{prefix}-{number}.unsigned.json"
        target.write_text(json.dumps(envelope, indent=2) + "\n")
        written.append(str(target))
    return written
