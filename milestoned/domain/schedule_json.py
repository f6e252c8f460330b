"""Decoding a schedule file's JSON text for the reader: keys written twice are kept track of, not lost.

Plain `json` keeps the last value of a key written twice in one object and accepts `NaN`/`Infinity`;
an admin who typed the file by hand deserves to hear about both. A syntax error becomes one `FieldError`
at the root with its line and column. Pure.
"""

from __future__ import annotations

import json
from typing import Any

from milestoned.domain.validation_errors import ROOT_PATH, FieldError, ScheduleValidationError


class ObjectWithDuplicateKeys(dict[str, Any]):
    """A JSON object that named some key twice; plain `json` would silently keep the last value."""

    duplicate_keys: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    duplicates: list[str] = []
    for key, value in pairs:
        if key in seen and key not in duplicates:
            duplicates.append(key)
        seen[key] = value
    if not duplicates:
        return seen
    flagged = ObjectWithDuplicateKeys(seen)
    flagged.duplicate_keys = tuple(duplicates)
    return flagged


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def load_schedule_json(text: str | bytes) -> object:
    """Decode a schedule file's JSON text, keeping track of keys written twice in one object.

    Raises `ScheduleValidationError` with the line and column of a syntax error.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ScheduleValidationError(
                (FieldError(ROOT_PATH, f"is not UTF-8 text ({error})", "save the file as UTF-8"),)
            ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ScheduleValidationError(
            (FieldError(ROOT_PATH, "is empty", "start from examples/schedule.json"),)
        )
    try:
        return json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ScheduleValidationError(
            (
                FieldError(
                    ROOT_PATH,
                    f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
                    "look just before that point for a missing comma, quote or bracket, or a trailing "
                    "comma (JSON allows none after the last item); JSON has no comments",
                ),
            )
        ) from None
    except ValueError as error:
        raise ScheduleValidationError(
            (FieldError(ROOT_PATH, f"is not valid JSON: {error}", "write plain numbers"),)
        ) from None
