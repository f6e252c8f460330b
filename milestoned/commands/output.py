"""Where milestonectl's answers go: rich tables for people, JSON for programs, and the exit codes.

Every command builds one JSON-ready report and hands it here, so `--json` always prints exactly what the
table shows (and more), and a script never has to scrape a table. Errors have the same two faces: a
message and a fix on stderr for people, an `{"ok": false, "error": …}` object on stdout for programs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Width when stdout is not a terminal (a pipe or a file): wide enough that a bech32 address or a
# 64-digit key stays on one line, so `grep` finds it.
PIPE_WIDTH = 200


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the input was read and is wrong: validation or verification failed
    USAGE = 2  # the command could not run as asked: bad arguments, a file that is missing or unreadable


class CommandError(Exception):
    """A clear stop: what was wrong, how to fix it, and the exit code that says which kind of failure."""

    def __init__(self, message: str, hint: str = "", exit_code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "hint": self.hint, "exit_code": int(self.exit_code)}


@dataclass(frozen=True)
class Column:
    header: str
    style: str = ""
    no_wrap: bool = False


@dataclass
class Output:
    """The two consoles of one invocation (made per call, so tests capturing sys.stdout see them)."""

    json_mode: bool
    stdout: Console = field(default_factory=lambda: _console(sys.stdout))
    stderr: Console = field(default_factory=lambda: _console(sys.stderr))

    def emit_json(self, document: object) -> None:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def line(self, text: str, style: str = "") -> None:
        """One line for people (plain text, never markup-interpreted)."""
        self.stdout.print(escape(text), style=style or None, soft_wrap=True, highlight=False)

    def table(
        self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[str]], caption: str = ""
    ) -> None:
        table = Table(
            title=escape(title), caption=escape(caption) or None, title_justify="left", caption_justify="left"
        )
        for column in columns:
            table.add_column(column.header, style=column.style or None, no_wrap=column.no_wrap)
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        self.stdout.print(table)

    def fields(self, title: str, pairs: Iterable[tuple[str, str]]) -> None:
        """A two-column table of named values."""
        self.table(title, (Column("field", style="bold", no_wrap=True), Column("value")), pairs)

    def error(self, error: CommandError) -> int:
        if self.json_mode:
            self.emit_json({"ok": False, "error": error.to_json()})
        else:
            self.stderr.print(f"[bold red]error:[/] {escape(error.message)}", soft_wrap=True, highlight=False)
            if error.hint:
                self.stderr.print(f"[bold]fix:[/] {escape(error.hint)}", soft_wrap=True, highlight=False)
        return int(error.exit_code)


def _console(stream: Any) -> Console:
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=stream, width=None if is_terminal else PIPE_WIDTH, highlight=False)


def verdict_style(ok: bool) -> str:
    return "green" if ok else "red"
