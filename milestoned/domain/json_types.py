"""Names of JSON types as the person who wrote the JSON knows them.

Error messages say "got a string" rather than "got str": the admin wrote JSON, not Python.
"""

from __future__ import annotations


def json_type_name(value: object) -> str:
    """How a JSON reader would name the type of `value`, with its article."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a fractional number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
