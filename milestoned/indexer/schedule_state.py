"""The state UTxOs of schedules with guardians (issue 15), recognised in a block's transactions. Pure.

What counts: an output that holds the state token of a KNOWN schedule (policy = schedule id, asset name
`state`), at the schedule-state validator's payment credential, with an inline datum that decodes as a
`ScheduleState` of that same schedule. Produced by a transaction that mints the state token, it is the
state's creation (`ScheduleStateCreated`); by any other (a `SetPaused` spending the previous state UTxO:
the token cannot leave the validator any other way), a change (`SchedulePauseChanged`), with the datum's
`paused`. An output looking like that anywhere else, or without a readable datum, is ignored (logged):
the scripts would never have let the real token there, and a forged one has no token.

A change also records what it spent (`spent_by_scripts`): the previous state UTxO is among those inputs,
so the projections can follow the chain of state UTxOs and tell which of two changes in one block is the
current one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from milestoned.domain.schedule_state import STATE_TOKEN_NAME_HEX, NotAScheduleState, decode_schedule_state
from milestoned.eventlog.events import (
    ChainEvent,
    ChainPoint,
    InvalidEventError,
    SchedulePauseChanged,
    ScheduleStateCreated,
)
from milestoned.ogmios.model import Block, Transaction

log = logging.getLogger(__name__)

StateEvent = ScheduleStateCreated | SchedulePauseChanged


def state_events(
    tx: Transaction,
    point: ChainPoint,
    schedules: Collection[str],
    state_validator_hash: bytes,
) -> list[StateEvent]:
    """The state events of one transaction (usually none)."""
    from milestoned.indexer.filter import _payment_script_hash

    events: list[StateEvent] = []
    for utxo in tx.produced:
        output = utxo.output
        assets = output.value.assets
        schedule_id = next(
            (p for p in assets if p in schedules and assets[p].get(STATE_TOKEN_NAME_HEX, 0) > 0), None
        )
        if schedule_id is None:
            continue
        out_ref = f"{tx.id}#{utxo.reference.index}"
        if _payment_script_hash(output.address) != state_validator_hash or output.datum is None:
            log.warning("%s holds schedule %s's state token outside its state; ignored", out_ref, schedule_id)
            continue
        try:
            state = decode_schedule_state(bytes.fromhex(output.datum))
            if state.schedule_id.hex() != schedule_id:
                raise NotAScheduleState(f"the datum names schedule {state.schedule_id.hex()}")
            minted = tx.mint.get(schedule_id, {}).get(STATE_TOKEN_NAME_HEX, 0) > 0
            events.append(
                ScheduleStateCreated(point, tx.id, schedule_id, out_ref, state.paused)
                if minted
                else SchedulePauseChanged(
                    point, tx.id, schedule_id, out_ref, state.paused, spent_by_scripts(tx)
                )
            )
        except (NotAScheduleState, InvalidEventError, ValueError) as exc:
            log.warning("%s holds schedule %s's state token but %s; ignored", out_ref, schedule_id, exc)
    return events


def spent_by_scripts(tx: Transaction) -> tuple[str, ...]:
    """The inputs `tx` spends through a script (those a spend redeemer points at, by position among the
    sorted inputs), or all it consumes when it lists no spend redeemer. A `SetPaused` spends the previous
    state UTxO through the state validator, so that one is always among them."""
    ordered = sorted(tx.consumed, key=lambda ref: (ref.transaction_id, ref.index))
    valid = tx.spends == "inputs"  # spend redeemers point into the inputs, not the collaterals
    pointed = {r.validator.index for r in tx.redeemers if valid and r.validator.purpose == "spend"}
    chosen = [ref for position, ref in enumerate(ordered) if position in pointed] or ordered
    return tuple(f"{ref.transaction_id}#{ref.index}" for ref in chosen)


def block_state_events(
    block: Block, schedules: Collection[str], state_validator_hash: bytes
) -> list[ChainEvent]:
    """The state events of a whole block for `schedules` (those discovered in this very block: their
    state may have been created in the block that completed their registration)."""
    if not schedules or block.slot is None:
        return []
    point = ChainPoint(block.slot, block.id)
    found: Iterable[StateEvent] = (
        event
        for tx in block.transactions
        for event in state_events(tx, point, schedules, state_validator_hash)
    )
    return list(found)
