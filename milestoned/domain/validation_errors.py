"""How the domain tells a person what is wrong with what they wrote, and how to fix it.

An admin who writes a schedule by hand makes several mistakes at once. Reporting only the first one
turns fixing a file into a slow loop of run, fix one line, run again; so the schedule reader collects
every `FieldError` of a file and raises them together in one `ScheduleValidationError`.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT_PATH = ""


class InputProblem(ValueError):
    """One value that cannot be accepted: `problem` says what is wrong, `hint` how to write it instead.

    Raised by the small readers (times, addresses, keys); the schedule reader turns each one into a
    `FieldError` at the path where the value was found.
    """

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(f"{problem} ({hint})" if hint else problem)
        self.problem = problem
        self.hint = hint


@dataclass(frozen=True)
class FieldError:
    """One problem at one place of a schedule document.

    `path` is written the way a person navigates the JSON: `quorum_threshold`, `token.token_name`,
    `oracles[1]`, `beneficiary_allocations[3].token_amount` (indexes count from 0); the empty path is the
    document itself.
    """

    path: str
    message: str
    hint: str = ""

    @property
    def location(self) -> str:
        return self.path or "(document)"

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text}\n    fix: {self.hint}" if self.hint else text


class ScheduleValidationError(ValueError):
    """Every problem found in one schedule document, in document order."""

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        if not errors:
            raise ValueError("a ScheduleValidationError needs at least one FieldError")
        self.errors = errors
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.errors)
        heading = "the schedule has 1 error:" if count == 1 else f"the schedule has {count} errors:"
        lines = [heading]
        for error in self.errors:
            lines.append(f"  - {error}".replace("\n", "\n  "))
        lines.append(
            "Paths count list entries from 0, so beneficiary_allocations[3] is the fourth allocation. "
            "Fix them all and validate again; see docs/schedule-format.md."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._render()

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(error.path for error in self.errors)
