"""The row changes of the chain events added with discovery: tests for mutants of
`projections/changes.py` that survived (issue 19)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from milestoned.domain.attestation import sign_attestation
from milestoned.eventlog.events import (
    AllocationReassigned,
    ChainEvent,
    ChainPoint,
    HeadAnchored,
    LeaderElected,
    LocalEvent,
    OracleSignatureSeen,
    ScheduleDiscovered,
    SchedulePauseChanged,
    ScheduleStateCreated,
    SubmissionIntended,
)
from milestoned.eventlog.testing import make_schedule
from milestoned.projections.changes import (
    AddMove,
    AddScheduleState,
    AddSignature,
    AddStateSpend,
    DiscoverSchedule,
    MoveTip,
    changes_for,
)
from milestoned.projections.slots import SlotConfig

SLOTS = SlotConfig(zero_time_ms=1000, zero_slot=10, slot_length_ms=200)
POINT = ChainPoint(slot=42, header_hash="cd" * 32)
TIP = MoveTip(slot=42, header_hash="cd" * 32, chain_time_ms=1000 + (42 - 10) * 200)


def test_a_discovered_schedule_is_one_row_at_its_point_then_the_tip() -> None:
    registered = make_schedule(0)
    registration = {"transactions": [{"tx_id": "aa" * 32, "slot": 42, "header_hash": "cd" * 32}]}
    event = ScheduleDiscovered(POINT, "bb" * 28, registered.definition, registered.policy, registration)
    discover, tip = changes_for(event, SLOTS)
    assert tip == TIP
    assert isinstance(discover, DiscoverSchedule)
    assert (discover.schedule_id, discover.quorum, discover.slot, discover.header_hash) == (
        "bb" * 28,
        registered.policy.quorum,
        42,
        "cd" * 32,
    )
    assert json.loads(discover.oracle_keys) == sorted(registered.policy.oracle_keys)
    assert json.loads(discover.definition) == dict(registered.definition)
    assert json.loads(discover.registration) == registration


def test_a_signature_seen_on_chain_is_a_row_when_it_verifies_and_the_tip_moves_either_way() -> None:
    seed, schedule, milestone = bytes([3]) * 32, bytes([1]) * 28, b"M1"
    signed = sign_attestation(seed, schedule, milestone)
    valid = OracleSignatureSeen(
        POINT, "aa" * 32, schedule.hex(), milestone.hex(), signed.oracle_key.hex(), signed.signature.hex()
    )
    assert changes_for(valid, SLOTS) == (
        AddSignature(schedule.hex(), milestone.hex(), signed.oracle_key.hex(), signed.signature.hex()),
        TIP,
    )
    forged = OracleSignatureSeen(
        POINT, "aa" * 32, schedule.hex(), milestone.hex(), signed.oracle_key.hex(), "00" * 64
    )
    assert changes_for(forged, SLOTS) == (TIP,)


@dataclass(frozen=True, slots=True)
class Unruled(ChainEvent):
    topic: ClassVar[str] = "unruled"


def test_a_chain_event_without_a_rule_is_refused_by_name() -> None:
    with pytest.raises(TypeError) as refused:
        changes_for(Unruled(POINT), SLOTS)
    assert str(refused.value) == "no projection rule for chain event unruled"


@dataclass(frozen=True, slots=True)
class UnruledLocal(LocalEvent):
    topic: ClassVar[str] = "unruled-local"


def test_a_local_event_without_a_rule_is_refused_by_its_class() -> None:
    with pytest.raises(TypeError) as refused:
        changes_for(UnruledLocal(), SLOTS)
    assert str(refused.value) == "no projection rule for event UnruledLocal"


def test_facts_for_auditors_and_leadership_make_no_rows() -> None:
    """An anchor, an election and an intent are log facts, not projection rows: an empty tuple (the
    projector extends its batch with it; `None` would break the batch)."""
    anchored = HeadAnchored(tx_id="aa" * 32, position=7, head_hash="bb" * 32)
    assert changes_for(anchored, SLOTS) == ()
    assert changes_for(LeaderElected(term=2, leader="second"), SLOTS) == ()
    intended = SubmissionIntended("aa" * 32, ("bb" * 32 + "#0",), 99, ("cc" * 32 + "#1",))
    assert changes_for(intended, SLOTS) == ()


def test_a_created_state_is_one_row_then_the_tip() -> None:
    created = ScheduleStateCreated(POINT, "aa" * 32, "bb" * 28, "aa" * 32 + "#0", 0)
    assert changes_for(created, SLOTS) == (
        AddScheduleState("aa" * 32 + "#0", "bb" * 28, 0, "aa" * 32, 42, "cd" * 32),
        TIP,
    )


def test_a_pause_change_is_its_state_a_row_per_spent_input_then_the_tip() -> None:
    spent = ("aa" * 32 + "#0", "ee" * 32 + "#3")
    paused = SchedulePauseChanged(POINT, "ff" * 32, "bb" * 28, "ff" * 32 + "#0", 1, spent)
    assert changes_for(paused, SLOTS) == (
        AddScheduleState("ff" * 32 + "#0", "bb" * 28, 1, "ff" * 32, 42, "cd" * 32),
        AddStateSpend("aa" * 32 + "#0", "bb" * 28, "ff" * 32, 42, "cd" * 32),
        AddStateSpend("ee" * 32 + "#3", "bb" * 28, "ff" * 32, 42, "cd" * 32),
        TIP,
    )
    recorded_before_spent = SchedulePauseChanged(POINT, "ff" * 32, "bb" * 28, "ff" * 32 + "#0", 0)
    assert changes_for(recorded_before_spent, SLOTS) == (
        AddScheduleState("ff" * 32 + "#0", "bb" * 28, 0, "ff" * 32, 42, "cd" * 32),
        TIP,
    )


def test_a_moved_allocation_is_one_row_then_the_tip() -> None:
    moved = AllocationReassigned(
        POINT, "ff" * 32, "bb" * 28, "aa" * 32 + "#1", "ff" * 32 + "#0", "addr_test1old", "addr_test1new"
    )
    assert changes_for(moved, SLOTS) == (
        AddMove("aa" * 32 + "#1", "bb" * 28, "ff" * 32 + "#0", "ff" * 32, 42, "cd" * 32),
        TIP,
    )
