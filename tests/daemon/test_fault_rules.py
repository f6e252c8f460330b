"""The pure rules behind issue 17's socket, health and submission fixes, checked without a daemon: who may
open one more connection, what health says, which wallet UTxOs a release may spend, and how intents
move through the daemon's fold of the log. (The daemon-process tests beside this file check the whole.)"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from hypothesis import given, seed, settings
from hypothesis import strategies as st
from pycardano import (
    Address,
    Network,
    TransactionId,
    TransactionInput,
    TransactionOutput,
    UTxO,
    VerificationKeyHash,
)

from milestoned.daemon.connection_limits import ConnectionLimits
from milestoned.daemon.health import Problem, assess
from milestoned.daemon.health_checks import FOLLOWER_FAILURE_WINDOW_S, HealthChecks
from milestoned.daemon.local_index import LocalIndex
from milestoned.eventlog.events import (
    ReleaseSubmitted,
    SubmissionConfirmed,
    SubmissionExpired,
    SubmissionIntended,
)
from milestoned.txbuilder.wallet import spendable

OPS = st.lists(st.tuples(st.sampled_from(["open", "close"]), st.integers(0, 5), st.booleans()), max_size=200)


@seed(17)
@settings(max_examples=200, derandomize=True)
@given(ops=OPS)
def test_no_one_exceeds_their_share_and_admins_always_find_a_slot(ops: list[tuple[str, int, bool]]) -> None:
    limits = ConnectionLimits(total=12, per_uid=3, admin_reserved=2)
    held: list[tuple[int, bool]] = []
    for op, uid, admin in ops:
        if op == "open":
            before = limits.open
            refused = limits.admit(uid, admin)
            if refused is None:
                held.append((uid, admin))
            elif admin:
                assert before >= 12  # an admin is refused only when every slot is taken
            assert refused is None or (refused.message and refused.hint)
        elif held:
            uid, admin = held.pop(0)
            limits.release(uid)
        non_admin = [u for u, a in held if not a]
        assert limits.open == len(held) <= 12
        assert len(non_admin) <= 12 - 2
        assert all(non_admin.count(u) <= 3 for u in non_admin)


def test_health_is_failing_with_a_problem_whatever_the_sync() -> None:
    synced = {"connected": True, "node_tip_slot": 100, "indexer_slot": 100, "log_position": 5}
    assert assess(**synced, projection_position=5).state == "synced"
    failing = assess(**synced, projection_position=5, problems=(Problem("store", "disk full"),))
    assert failing.state == "failing" and not failing.ok
    assert failing.to_json()["problems"] == [{"check": "store", "reason": "disk full"}]
    assert assess(**synced, projection_position=None).state == "syncing"  # unreadable: never synced


def test_the_health_document_is_every_field_in_order_as_asdict_would_give_it() -> None:
    """`to_json` is written out (no deep copy); a field added to Health and left out of it fails here."""
    for health in (
        assess(connected=True, node_tip_slot=100, indexer_slot=90, log_position=5, projection_position=5),
        assess(
            connected=False,
            node_tip_slot=None,
            indexer_slot=None,
            log_position=7,
            projection_position=None,
            problems=(Problem("store", "disk full"), Problem("follower", "gone")),
            role="leader",
            term=3,
        ),
    ):
        document = health.to_json()
        expected = asdict(health)
        expected["problems"] = [asdict(p) for p in health.problems]
        assert document == expected
        assert list(document) == list(expected)


def test_a_follower_failure_counts_for_a_while_and_a_probe_names_the_folder(tmp_path: Path) -> None:
    now = [1000.0]
    checks = HealthChecks((tmp_path, tmp_path / "missing"), clock=lambda: now[0])
    checks.follower_failed(RuntimeError("boom"))
    assert [p.check for p in checks.problems()] == ["follower"]
    now[0] += FOLLOWER_FAILURE_WINDOW_S + 1
    assert checks.problems() == ()
    assert checks.follower_failures == 1
    checks.probe()
    (problem,) = checks.problems()
    assert problem.check == "store" and str(tmp_path / "missing") in problem.reason
    assert str(tmp_path) + ":" not in problem.reason  # the writable folder is not blamed
    assert checks.store_write_failures == 1


def _utxo(tx: str, index: int) -> UTxO:
    address = Address(VerificationKeyHash(b"\x01" * 28), network=Network.TESTNET)
    return UTxO(
        TransactionInput(TransactionId(bytes.fromhex(tx)), index), TransactionOutput(address, 5_000_000)
    )


def test_coin_selection_leaves_out_what_pending_transactions_spend_and_unconfirmed_change() -> None:
    a, b, c = "aa" * 32, "bb" * 32, "cc" * 32
    utxos = [_utxo(a, 0), _utxo(a, 1), _utxo(b, 0), _utxo(c, 3)]
    usable = spendable(utxos, spent_elsewhere={f"{a}#1"}, unconfirmed_tx_ids={b})
    assert [(u.input.transaction_id.payload.hex(), u.input.index) for u in usable] == [(a, 0), (c, 3)]


def test_an_intent_holds_its_allocations_and_inputs_until_settled() -> None:
    tx, allocation, wallet_input = "dd" * 32, "ee" * 32 + "#0", "ff" * 32 + "#2"
    index = LocalIndex()
    index.apply(SubmissionIntended(tx, (allocation,), 500, (allocation, wallet_input)))
    assert index.in_flight_refs() == {allocation: tx}
    assert index.pending_input_refs() == {allocation, wallet_input} and tx in index.unconfirmed_tx_ids()
    index.apply(ReleaseSubmitted(tx, (allocation,), 500))
    assert not index.intents and index.in_flight_refs() == {allocation: tx}
    assert wallet_input in index.pending_input_refs()  # sent, not confirmed: still reserved
    index.apply(SubmissionConfirmed(tx))
    assert index.in_flight_refs() == {} and index.pending_input_refs() == set()
    index.apply(SubmissionIntended("11" * 32, (allocation,), 600, (wallet_input,)))
    index.apply(SubmissionExpired("11" * 32, "never reached the node"))
    assert index.in_flight_refs() == {} and not index.unconfirmed_tx_ids()
