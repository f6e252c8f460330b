"""The submission lifecycle state machine (pure): transitions, expiry by slot, rollbacks, no double flight."""

from __future__ import annotations

import pytest
from txbuilder_support import OPERATOR, OPERATOR_ADDRESS, oracle_signature, relative_schedule, world

from milestoned.txbuilder.lifecycle import Lifecycle, LifecycleError, SubmissionState
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import refresh, submit

M1 = "M1-testnet-launch"

A, B, C = "aa" * 32 + "#0", "aa" * 32 + "#1", "bb" * 32 + "#0"


def test_submitted_then_confirmed() -> None:
    state = Lifecycle().submit("tx1", "release", [A, B], ttl=100)
    assert state.in_flight() == {A: "tx1", B: "tx1"}
    state = state.confirm("tx1", 90, "block-1")
    assert state.submissions["tx1"].state is SubmissionState.CONFIRMED
    assert state.in_flight() == {} and state.settled() == {A: "tx1", B: "tx1"}
    assert not state.may_build(A)


def test_an_allocation_is_never_in_two_live_transactions() -> None:
    state = Lifecycle().submit("tx1", "release", [A], ttl=100)
    with pytest.raises(LifecycleError, match=f"allocation {A} is already spent by transaction tx1"):
        state.submit("tx2", "release", [C, A], ttl=120)
    assert state.submit("tx2", "release", [C], ttl=120).in_flight() == {A: "tx1", C: "tx2"}


def test_expired_at_ttl_then_rebuilt() -> None:
    state = Lifecycle().submit("tx1", "release", [A], ttl=100)
    assert state.observe_tip(99).submissions["tx1"].state is SubmissionState.SUBMITTED
    expired = state.observe_tip(100)
    assert expired.submissions["tx1"].state is SubmissionState.EXPIRED
    assert expired.expired_allocations() == {A} and expired.may_build(A)
    rebuilt = expired.submit("tx2", "release", [A], ttl=200)
    assert rebuilt.in_flight() == {A: "tx2"} and rebuilt.expired_allocations() == set()


def test_rejected_is_final_and_frees_the_allocations() -> None:
    state = Lifecycle().submit("tx1", "release", [A], ttl=None).reject("tx1", "3117")
    assert state.submissions["tx1"].reason == "3117" and state.may_build(A)
    with pytest.raises(LifecycleError, match="can no longer be rejected"):
        state.reject("tx1", "again")
    assert state.observe_tip(10**9).submissions["tx1"].state is SubmissionState.REJECTED


def test_rollback_makes_a_confirmed_transaction_live_again() -> None:
    state = Lifecycle().submit("tx1", "release", [A], ttl=100).confirm("tx1", 50, "b")
    assert state.roll_back(60).submissions["tx1"].state is SubmissionState.CONFIRMED
    back = state.roll_back(49)
    assert back.submissions["tx1"].state is SubmissionState.SUBMITTED and back.in_flight() == {A: "tx1"}
    assert back.observe_tip(100).submissions["tx1"].state is SubmissionState.EXPIRED


def test_unknown_transactions_are_errors() -> None:
    with pytest.raises(LifecycleError, match="never recorded"):
        Lifecycle().confirm("nope", 1, "b")


async def test_on_the_devnet_an_expired_release_is_rebuilt_and_confirmed() -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await w.register(definition)
        latest = max(a.vesting_time_ms for a in definition.allocations if a.milestone_id == M1.encode())
        w.advance_ms(latest - w.now_ms + 1_000)
        signatures = {
            M1.encode(): [
                oracle_signature(2, plan.schedule_id, M1),
                oracle_signature(1, plan.schedule_id, M1),
            ]
        }
        lifecycle = Lifecycle()
        first = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS, validity_ms=3_000)
        [tx] = first.txs
        await submit(w.chain, sign(tx, [OPERATOR]))
        lifecycle = lifecycle.submit(tx.id, "release", tx.details["allocations"], tx.validity[1])
        # the transaction misses its window: time passes with no block, then the forger drops it
        w.devnet.advance(100)
        w.devnet.produce_block()
        lifecycle = await refresh(w.chain, lifecycle)
        assert lifecycle.submissions[tx.id].state is SubmissionState.EXPIRED
        assert lifecycle.expired_allocations() == set(tx.details["allocations"])
        # rebuilt with a fresh interval, submitted, confirmed
        again = await build_release(
            w.chain, definition, signatures, OPERATOR_ADDRESS, in_flight=lifecycle.in_flight()
        )
        [retry] = again.txs
        assert retry.details["allocations"] == tx.details["allocations"] and retry.id != tx.id
        await submit(w.chain, sign(retry, [OPERATOR]))
        lifecycle = lifecycle.submit(retry.id, "release", retry.details["allocations"], retry.validity[1])
        with pytest.raises(LifecycleError):
            lifecycle.submit("another", "release", retry.details["allocations"], None)
        w.settle()
        lifecycle = await refresh(w.chain, lifecycle)
        assert lifecycle.submissions[retry.id].state is SubmissionState.CONFIRMED
        assert lifecycle.in_flight() == {} and set(lifecycle.settled()) == set(retry.details["allocations"])
