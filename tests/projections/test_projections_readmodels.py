"""The pure core of the projections: row changes per event, and the read models derived from facts."""

from __future__ import annotations

from milestoned.eventlog.events import ChainCursorCheckpointed, ChainPoint, RolledBack
from milestoned.eventlog.testing import TEST_SLOTS, make_schedule, oracle_signature
from milestoned.projections.changes import AddSignature, MoveTip, RegisterSchedule, UndoAbove, changes_for
from milestoned.projections.readmodels import (
    ChainTip,
    ExitFact,
    Facts,
    LockFact,
    ScheduleFact,
    SignatureFact,
    claimable_allocations,
    claimable_totals,
    milestone_states,
)
from milestoned.projections.slots import MAINNET, SlotConfig
from milestoned.projections.store import _runs

S = "ab" * 28


def lock(ref: str, owner: str, amount: int, vesting_ms: int, milestone: str = "01") -> LockFact:
    return LockFact(ref, S, milestone, owner, amount, vesting_ms, "cc" * 32, 10)


def facts(
    *,
    signers: tuple[str, ...] = (),
    locks: tuple[LockFact, ...] = (),
    releases: tuple[ExitFact, ...] = (),
    reclaims: tuple[ExitFact, ...] = (),
    chain_time_ms: int | None = None,
) -> Facts:
    return Facts(
        schedules=(ScheduleFact(S, 2, frozenset({"k1", "k2", "k3"})),),
        signatures=tuple(SignatureFact(S, "01", key) for key in signers),
        locks=locks,
        releases=releases,
        reclaims=reclaims,
        tip=None if chain_time_ms is None else ChainTip(100, "dd" * 32, chain_time_ms),
    )


def test_claimable_needs_quorum_vesting_and_an_open_allocation() -> None:
    locks = (lock("a#0", "alice", 5, 1000), lock("b#0", "alice", 7, 3000), lock("c#0", "bob", 9, 1000))
    assert [a.claimable_now for a in claimable_allocations(facts(signers=("k1", "k2"), locks=locks))] == [
        False,
        False,
        False,
    ]  # no block seen yet: chain time unknown, nothing has vested
    rows = claimable_allocations(
        facts(
            signers=("k1", "k2", "outsider"),
            locks=locks,
            reclaims=(ExitFact("c#0", S, "ee" * 32, 50),),
            chain_time_ms=2000,
        )
    )
    assert [(r.out_ref, r.claimable_now, r.next_unlock_ms) for r in rows] == [
        ("a#0", True, None),
        ("b#0", False, 3000),
        ("c#0", False, None),
    ]
    assert claimable_totals(rows) == {"alice": 5, "bob": 0}
    one_short = claimable_allocations(facts(signers=("k1", "outsider"), locks=locks, chain_time_ms=2000))
    assert not any(r.milestone_verified for r in one_short)


def test_milestone_state_counts_distinct_member_oracles_and_ignores_unknown_exits() -> None:
    [state] = milestone_states(
        facts(
            signers=("k2", "k1", "zz"),
            locks=(lock("a#0", "alice", 5, 0),),
            releases=(ExitFact("a#0", S, "ee" * 32, 20), ExitFact("unknown#1", S, "ff" * 32, 20)),
        )
    )
    assert state.signed_by == ("k1", "k2") and state.quorum_reached
    assert (state.allocations_locked, state.allocations_released, state.amount_released) == (1, 1, 5)


def test_event_rules() -> None:
    schedule = make_schedule(0)
    [registered] = changes_for(schedule, TEST_SLOTS)
    assert isinstance(registered, RegisterSchedule) and registered.quorum == 2
    [signature] = changes_for(oracle_signature(0, 1, "01"), TEST_SLOTS)
    assert isinstance(signature, AddSignature)
    assert changes_for(oracle_signature(0, 1, "01", valid=False), TEST_SLOTS) == ()
    point = ChainPoint(50, "aa" * 32)
    assert changes_for(RolledBack(point), TEST_SLOTS) == (
        UndoAbove(50),
        MoveTip(50, "aa" * 32, TEST_SLOTS.slot_to_posix_ms(50)),
    )
    assert changes_for(RolledBack(ChainPoint.origin()), TEST_SLOTS) == (
        UndoAbove(-1),
        MoveTip(-1, "origin", None),
    )
    tips = [changes_for(ChainCursorCheckpointed(ChainPoint(s, "aa" * 32)), TEST_SLOTS)[0] for s in (1, 2, 3)]
    runs = _runs([tips[0], registered, tips[1], signature, signature, tips[2]])
    assert [(kind.__name__, len(rows)) for kind, rows in runs] == [
        ("RegisterSchedule", 1),
        ("AddSignature", 2),
        ("MoveTip", 1),
    ]
    assert runs[-1][1] == [tips[2]]


def test_slot_clock() -> None:
    assert MAINNET.slot_to_posix_ms(4492800) == 1596059091000
    config = SlotConfig(zero_time_ms=1000, zero_slot=10, slot_length_ms=200)
    assert config.slot_to_posix_ms(15) == 2000
    assert config.posix_ms_to_slot(2000) == 15 and config.posix_ms_to_slot(2001) == 16
