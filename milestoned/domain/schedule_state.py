"""The schedule state of a schedule with guardians (issue 15), read off-chain. Pure.

Why here: the transaction builders (release, pause, registration), the indexer and `claim` all read a
state UTxO's inline datum and must agree with the scripts on what it says: `ScheduleState(schedule_id,
guardian_keys, threshold, paused)`, constructor 0, `paused` 0 or 1. Decoded with cbor2 (every spelling
of constructor 0 the scripts accept), checking arity and types, so a forged or malformed datum is
never taken for the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cbor2

from milestoned.domain import onchain_types as ot

STATE_TOKEN_NAME_HEX = ot.STATE_TOKEN_NAME.hex()


class NotAScheduleState(ValueError):
    """A datum that is not a `ScheduleState`."""


def initial_state(schedule_id: bytes, guardian_keys: Sequence[bytes], threshold: int) -> ot.ScheduleState:
    """The datum `InitState` must create: the policy's own guardians and threshold, not paused."""
    return ot.ScheduleState(schedule_id, list(guardian_keys), threshold, 0)


def with_paused(state: ot.ScheduleState, paused: bool) -> ot.ScheduleState:
    """The continuing datum of a `SetPaused`: everything unchanged but `paused`."""
    return ot.ScheduleState(state.schedule_id, list(state.guardian_keys), state.threshold, int(paused))


def _fields(value: Any) -> list[Any]:
    if isinstance(value, cbor2.CBORTag):
        if value.tag == 121 and isinstance(value.value, list):
            return value.value
        if value.tag == 102 and isinstance(value.value, list) and len(value.value) == 2:
            index, fields = value.value
            if index == 0 and isinstance(fields, list):
                return fields
    raise NotAScheduleState(f"not constructor 0: {str(value)[:80]}")


def decode_schedule_state(datum: Any) -> ot.ScheduleState:
    """A `ScheduleState` from CBOR bytes, a pycardano datum or the class; `NotAScheduleState` otherwise."""
    if isinstance(datum, ot.ScheduleState):
        return datum
    if hasattr(datum, "to_cbor"):
        datum = datum.to_cbor()
    if not isinstance(datum, bytes | bytearray):
        raise NotAScheduleState(f"not a datum: a {type(datum).__name__}")
    try:
        value = cbor2.loads(bytes(datum))
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as exc:
        raise NotAScheduleState(f"not CBOR ({exc})") from exc
    fields = _fields(value)
    if len(fields) != 4:
        raise NotAScheduleState(f"a ScheduleState has 4 fields, got {len(fields)}")
    schedule_id, keys, threshold, paused = fields
    if not isinstance(schedule_id, bytes) or not isinstance(keys, list):
        raise NotAScheduleState("schedule_id must be bytes and guardian_keys a list")
    if not all(isinstance(key, bytes) for key in keys):
        raise NotAScheduleState("guardian_keys must be byte strings")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or paused not in (0, 1):
        raise NotAScheduleState("threshold must be an integer and paused 0 or 1")
    return ot.ScheduleState(schedule_id, list(keys), threshold, int(paused))
