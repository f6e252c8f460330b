"""Canonical bytes of events: the one encoding that is stored, hashed and compared.

Canonical means: JSON, keys sorted, no whitespace, integers as integers, bytes as lowercase hex. The
same event always gives the same bytes, on any machine and any backend, which is what makes the hash
chain verifiable by an auditor and a replay comparable byte for byte.

Decoding is strict (every field present, of the declared type) so that a damaged or hand-edited record
fails loudly with the field that is wrong, instead of flowing into the projections.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from milestoned.domain.schedule_guardians import parse_out_ref
from milestoned.domain.validation_errors import InputProblem
from milestoned.eventlog.events import EVENT_TYPES_BY_TOPIC, ChainPoint, Event, SchedulePolicy

_DUMP_OPTIONS = orjson.OPT_SORT_KEYS


class EventDecodeError(ValueError):
    """A stored record is not a well-formed event of its topic."""


def canonical_json(value: Any) -> bytes:
    """Sorted-key compact JSON; the only serialisation used for hashing and comparing."""
    return orjson.dumps(value, option=_DUMP_OPTIONS)


def event_to_json(event: Event) -> dict[str, Any]:
    """The event's fields as a JSON-able dict (nested values become dicts and lists). A field added to
    its topic later (`Event.added_fields`) is left out while it holds its default, as older records are."""
    return {
        f.name: _plain(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if f.name not in event.added_fields or getattr(event, f.name) != f.default
    }


def encode_event(event: Event) -> bytes:
    """Canonical bytes of the event's fields (its topic is stored beside them)."""
    if not event.topic or EVENT_TYPES_BY_TOPIC.get(event.topic) is not type(event):
        raise TypeError(f"{type(event).__name__} is not a registered event type; add it to EVENT_TYPES")
    return canonical_json(event_to_json(event))


def decode_event(topic: str, body: Mapping[str, Any]) -> Event:
    """Rebuild the event stored under `topic` from its JSON fields; raise EventDecodeError if malformed."""
    cls = EVENT_TYPES_BY_TOPIC.get(topic)
    if cls is None:
        raise EventDecodeError(f"unknown event topic {topic!r}; known topics: {sorted(EVENT_TYPES_BY_TOPIC)}")
    if not isinstance(body, Mapping):
        raise EventDecodeError(f"{topic}: body must be a JSON object, got {type(body).__name__}")
    converters = _field_converters(cls)
    added = cls.added_fields
    missing = [name for name, _ in converters if name not in body and name not in added]
    extra = sorted(set(body) - {name for name, _ in converters})
    if missing or extra:
        raise EventDecodeError(f"{topic}: missing fields {missing}, unexpected fields {extra}")
    values: dict[str, Any] = {}
    for name, convert in converters:
        if name not in body:
            continue  # a field added to the topic later: an older record reads as its default
        try:
            values[name] = convert(body[name])
        except (TypeError, ValueError) as exc:
            raise EventDecodeError(f"{topic}: field {name!r}: {exc}") from None
        if name in added and values[name] == _DEFAULTS[cls][name]:
            raise EventDecodeError(
                f"{topic}: field {name!r} holds its default {body[name]!r}; such a record leaves it out "
                "(edited by hand?)"
            )
    try:
        return cls(**values)
    except ValueError as exc:
        raise EventDecodeError(f"{topic}: {exc}") from None


_OPTIONAL_POLICY_FIELDS = frozenset({"guardian_keys", "guardian_threshold", "state_seed"})
"""Left out of a policy without guardians, so events recorded before guardians existed keep their bytes."""
_SEED_FIELD = "state_seed"
"""Left out when empty: a guarded schedule recorded before state seeds existed keeps its bytes."""


def _plain(value: Any) -> Any:
    if isinstance(value, SchedulePolicy):
        left_out = _OPTIONAL_POLICY_FIELDS if not value.guardian_threshold else set()
        if not value.state_seed:
            left_out = {*left_out, _SEED_FIELD}
        kept = [f.name for f in dataclasses.fields(value) if f.name not in left_out]
        return {name: _plain(getattr(value, name)) for name in kept}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _expect_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__} {value!r}")
    return value


def _expect_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _expect_str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of strings, got {type(value).__name__}")
    return tuple(_expect_str(item) for item in value)


def _expect_int_tuple(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of integers, got {type(value).__name__}")
    return tuple(_expect_int(item) for item in value)


def _expect_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _expect_point(value: Any) -> ChainPoint:
    obj = _expect_object(value)
    if set(obj) != {"slot", "header_hash"}:
        raise ValueError(f"a point needs exactly 'slot' and 'header_hash', got {sorted(obj)}")
    return ChainPoint(slot=_expect_int(obj["slot"]), header_hash=_expect_str(obj["header_hash"]))


def _expect_policy(value: Any) -> SchedulePolicy:
    obj = _expect_object(value)
    converters = _field_converters(SchedulePolicy)
    names = {name for name, _ in converters}
    if set(obj) not in (names, names - {_SEED_FIELD}, names - _OPTIONAL_POLICY_FIELDS):
        raise ValueError(f"policy fields must be {sorted(name for name, _ in converters)}, got {sorted(obj)}")
    policy = SchedulePolicy(**{name: convert(obj[name]) for name, convert in converters if name in obj})
    if "guardian_threshold" in obj and not policy.guardian_threshold:
        raise ValueError("a policy without guardians is recorded without guardian fields")
    if _SEED_FIELD in obj and not policy.state_seed:
        raise ValueError("a policy without a state seed is recorded without the state_seed field")
    if policy.state_seed:
        try:
            parse_out_ref(policy.state_seed)
        except InputProblem as problem:
            raise ValueError(f"state_seed {problem.problem}") from None
    return policy


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    int: _expect_int,
    str: _expect_str,
    tuple[str, ...]: _expect_str_tuple,
    tuple[int, ...]: _expect_int_tuple,
    Mapping[str, Any]: _expect_object,
    ChainPoint: _expect_point,
    SchedulePolicy: _expect_policy,
}


_CONVERTER_CACHE: dict[type, tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def _added_field_defaults(cls: type[Event]) -> dict[str, Any]:
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.name in cls.added_fields}
    if set(defaults) != cls.added_fields or dataclasses.MISSING in defaults.values():
        raise TypeError(f"{cls.__name__}: every added field must be a field with a plain default")
    return defaults


_DEFAULTS: dict[type, dict[str, Any]] = {
    cls: _added_field_defaults(cls) for cls in EVENT_TYPES_BY_TOPIC.values()
}
"""The defaults of the fields added to topics later (`Event.added_fields`), per event type."""


def _field_converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    cached = _CONVERTER_CACHE.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    converters = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if hint not in _CONVERTERS:
            raise TypeError(f"{cls.__name__}.{f.name}: field type {hint} has no JSON codec")
        converters.append((f.name, _CONVERTERS[hint]))
    _CONVERTER_CACHE[cls] = tuple(converters)
    return _CONVERTER_CACHE[cls]
