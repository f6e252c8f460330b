"""Reading a schedule file from disk into a definition, with the `.vkey` files it names.

The domain reader is pure: it gets the file's text and a hook to read key files. This module is that
hook's owner: a `.vkey` path in a schedule is read relative to the schedule file's own directory, so a
schedule folder can be moved or checked out anywhere and still validate the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from milestoned.commands.output import CommandError, ExitCode
from milestoned.commands.textfiles import SCHEDULE_MAX_BYTES, SMALL_FILE_MAX_BYTES, read_text
from milestoned.domain.oracle_keys import KeyFileLoader
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.domain.schedule_file import parse_schedule_json
from milestoned.domain.validation_errors import FieldError, ScheduleValidationError


class ScheduleFileInvalid(CommandError):
    """A schedule file that was read but is not a valid schedule; carries every problem of it."""

    def __init__(self, path: Path, errors: tuple[FieldError, ...]) -> None:
        count = "1 error" if len(errors) == 1 else f"{len(errors)} errors"
        super().__init__(
            f"schedule file {path} has {count}",
            f"fix them and check again with `milestonectl schedule validate {path}`",
            ExitCode.FAILED,
        )
        self.path = path
        self.errors = errors


@dataclass(frozen=True)
class ScheduleReading:
    """One schedule file, read: the definition when it is valid, otherwise every problem found."""

    path: Path
    definition: ScheduleDefinition | None
    errors: tuple[FieldError, ...]


def key_file_loader(schedule_path: Path) -> KeyFileLoader:
    """Reads a key file named in the schedule at `schedule_path`, relative to that file's directory."""
    folder = schedule_path.parent

    def load(name: str) -> str:
        path = Path(name).expanduser()
        resolved = path if path.is_absolute() else folder / path
        try:
            return read_text(resolved, "key file", SMALL_FILE_MAX_BYTES)
        except CommandError as error:
            # The domain reports this under the oracle's path, with its own hint about relative paths.
            raise OSError(error.message) from None

    return load


def read_schedule(path: Path) -> ScheduleReading:
    """Read and validate the schedule file at `path`. Raises `CommandError` only when it cannot be read."""
    text = read_text(path, "schedule file", SCHEDULE_MAX_BYTES)
    try:
        definition = parse_schedule_json(text, load_key_file=key_file_loader(path))
    except ScheduleValidationError as invalid:
        return ScheduleReading(path, None, invalid.errors)
    return ScheduleReading(path, definition, ())


def load_schedule(path: Path) -> ScheduleDefinition:
    """The valid schedule at `path`; raises `ScheduleFileInvalid` with every problem otherwise."""
    reading = read_schedule(path)
    if reading.definition is None:
        raise ScheduleFileInvalid(path, reading.errors)
    return reading.definition
