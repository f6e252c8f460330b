"""The state UTxO of a schedule with guardians (issue 15), recognised by the pure block filter."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from indexer_support import CONTRACT, SCHEDULE, WALLET, block_of, mint_redeemer, out_ref, transaction, value
from pycardano import Address, Network

from milestoned.contracts.loader import default_blueprint
from milestoned.domain import onchain_types as ot
from milestoned.domain.schedule_state import initial_state
from milestoned.eventlog.events import SchedulePauseChanged, ScheduleStateCreated
from milestoned.indexer.filter import MANY_SCHEDULES, block_events, mentions_any

SID = SCHEDULE.schedule_id.hex()
STATE_HASH = default_blueprint().state_validator_hash
WATCHED = replace(CONTRACT, state_validator_hash=STATE_HASH)
STATE_ADDRESS = str(Address(ot.ScriptHash(STATE_HASH), network=Network.TESTNET))
GUARDIANS = [bytes([7]) * 28, bytes([8]) * 28]
STATE = {SID: {ot.STATE_TOKEN_NAME.hex(): 1}}


def state_output(
    paused: int = 0, address: str = STATE_ADDRESS, schedule_id: bytes | None = None
) -> dict[str, Any]:
    datum = initial_state(schedule_id or SCHEDULE.schedule_id, GUARDIANS, 1)
    datum.paused = paused
    return {"address": address, "value": value(1_500_000, STATE), "datum": datum.to_cbor_hex()}


def events_of(*txs: dict[str, Any], known: Any = None) -> list[Any]:
    return block_events(block_of(list(txs), slot=9_000), WATCHED, known or {SID: "rules"}, {})


def test_init_state_then_pause_and_resume_give_their_events() -> None:
    init = transaction(outputs=[state_output(0)], mint=STATE)
    pause = transaction(inputs=[{"transaction": {"id": init["id"]}, "index": 0}], outputs=[state_output(1)])
    resume = transaction(inputs=[{"transaction": {"id": pause["id"]}, "index": 0}], outputs=[state_output(0)])
    events = events_of(init, pause, resume)
    assert [type(e) for e in events] == [ScheduleStateCreated, SchedulePauseChanged, SchedulePauseChanged]
    assert [e.paused for e in events] == [0, 1, 0]
    assert [e.out_ref for e in events] == [out_ref(init, 0), out_ref(pause, 0), out_ref(resume, 0)]
    assert all(e.schedule_id == SID and e.point.slot == 9_000 for e in events)
    assert [e.spent for e in events[1:]] == [(out_ref(init, 0),), (out_ref(pause, 0),)]  # no redeemers: all


def test_a_change_records_the_inputs_its_scripts_spent() -> None:
    """The previous state is spent through the state validator: the inputs a spend redeemer points at
    (by position among the sorted inputs), not the payer's."""
    state_in = {"transaction": {"id": "ee" * 32}, "index": 1}
    wallet_in = {"transaction": {"id": "11" * 32}, "index": 0}  # sorts first
    spend = {**mint_redeemer(1, ot.SetPaused(1)), "validator": {"purpose": "spend", "index": 1}}
    pause = transaction(inputs=[state_in, wallet_in], outputs=[state_output(1)], redeemers=[spend])
    (event,) = events_of(pause)
    assert isinstance(event, SchedulePauseChanged) and event.spent == ("ee" * 32 + "#1",)


def test_a_state_token_elsewhere_or_with_a_foreign_datum_is_ignored() -> None:
    at_wallet = transaction(outputs=[state_output(1, address=WALLET)])
    foreign = transaction(outputs=[state_output(1, schedule_id=bytes(28))])
    no_datum = transaction(outputs=[{k: v for k, v in state_output(1).items() if k != "datum"}])
    assert events_of(at_wallet, foreign, no_datum) == []
    # without the state validator's hash (a contract that does not track states) nothing is recorded
    assert block_events(block_of([transaction(outputs=[state_output(1)])]), CONTRACT, {SID: "r"}, {}) == []


def test_the_prefilter_finds_a_pause_among_many_schedules() -> None:
    """A pause moves only the state token (named `state`, not empty): the scan for empty-named auth tokens
    alone would miss it once the daemon follows more than MANY_SCHEDULES schedules."""
    many = {SID, *(f"{n:056x}" for n in range(MANY_SCHEDULES + 1))}
    pause = block_of([transaction(outputs=[state_output(1)])])
    assert mentions_any(pause, many)
    assert [type(e) for e in block_events(pause, WATCHED, many, {})] == [SchedulePauseChanged]
