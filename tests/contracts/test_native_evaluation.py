"""The native evaluator (Aiken, through `biglup-cometa`'s C function) behind `evaluate_transaction`.

Every other contract test already compares it with uplc on each transaction (conftest's
`cross_checked_evaluation`); these check what that comparison cannot: the cost models handed over,
exact units (no padding), the GIL released during a call, and the fallback when the wheel is missing.
"""

from __future__ import annotations

import sys
import threading

import cbor2
import pytest
from ci_rule import in_ci
from structlog.testing import capture_logs
from uplc.cost_model import load_network_config

from milestoned.contracts import evaluation as ev
from milestoned.contracts import native_evaluation as native
from milestoned.contracts import scenarios as sc
from milestoned.devnet.parameters import plutus_cost_models

pytestmark = pytest.mark.skipif(
    native.unavailable_reason() is not None and not in_ci(),
    reason=f"no native evaluator here ({native.unavailable_reason()}); in CI this fails instead",
)


def test_the_cost_models_handed_to_aiken_are_the_pinned_ones_uplc_runs_with() -> None:
    handed = cbor2.loads(ev._native_cost_models())
    pinned = load_network_config(ev.COST_MODEL_DATE)
    assert sorted(handed) == [0, 1, 2]
    assert len(handed[2]) == 297
    for language, name in ev.LANGUAGES.items():
        assert tuple(handed[language]) == tuple(pinned[name].values())
    published = plutus_cost_models()  # what the devnet publishes and script integrity hashes commit to
    assert tuple(handed[2]) == published["plutus:v3"]
    assert tuple(handed[1]) == published["plutus:v2"]


def test_native_units_are_exact_and_equal_uplcs_per_redeemer(schedule: sc.Schedule) -> None:
    built = sc.batch_release(schedule, 3)
    fast = ev.evaluate_natively(built.tx, built.utxos, sc.SLOT_CONFIG)
    reference = ev.evaluate_with_uplc(built.tx, built.utxos, sc.SLOT_CONFIG)
    assert not isinstance(fast, native.NativeFailure), fast
    assert [(e.tag, e.index, e.ok, e.mem, e.cpu) for e in fast] == [
        (e.tag, e.index, e.ok, e.mem, e.cpu) for e in reference
    ]
    assert len(fast) == 4 and all(e.ok for e in fast)


def test_a_failing_script_is_reported_per_redeemer_with_its_traces(schedule: sc.Schedule) -> None:
    built = sc.batch_release(schedule, 2)
    short = sc.correct_payouts(schedule, sc.batch_allocations(2))
    short[0] = sc.TransactionOutput(short[0].address, short[0].amount.coin - 1, datum=short[0].datum)
    underpaid = sc.release_tx(
        schedule,
        sc.allocation_utxos(schedule, sc.batch_allocations(2)),
        [schedule.attestation(b"m1", list(range(schedule.quorum)))],
        payouts=short,
        validity_start_ms=sc.batch_allocations(2)[0].vesting_time_ms,
    )
    fast = ev.evaluate_natively(underpaid.tx, underpaid.utxos, sc.SLOT_CONFIG)
    assert isinstance(fast, native.NativeFailure) and fast.phase_two
    previous = ev.evaluator_in_use()
    ev.select_evaluator("native")
    try:
        results = ev.evaluate_transaction(underpaid.tx, underpaid.utxos, sc.SLOT_CONFIG)
    finally:
        ev.select_evaluator(previous)
    failed = [e for e in results if not e.ok]
    assert failed and all(e.error for e in failed) and any(e.logs for e in failed)
    assert ev.evaluate_transaction(built.tx, built.utxos, sc.SLOT_CONFIG)[0].ok


def test_native_evaluation_releases_the_gil(schedule: sc.Schedule) -> None:
    """The main thread runs Python code while a worker thread is inside the C call: it sees the worker's
    frame on the call twice, with a sleep (which needs the GIL back to return) in between."""
    built = sc.batch_release(schedule, 40)
    worker_done = threading.Event()

    def work() -> None:
        try:
            ev.evaluate_natively(built.tx, built.utxos, sc.SLOT_CONFIG)
        finally:
            worker_done.set()

    worker = threading.Thread(target=work)
    worker.start()
    observed_inside = 0
    while not worker_done.is_set() and observed_inside < 2:
        top = sys._current_frames().get(worker.ident or 0)
        if top is not None and top.f_code is native.eval_phase_two.__code__:
            observed_inside += 1  # the worker is in `eval_phase_two` and nothing it calls in Python
        threading.Event().wait(0.001)
    worker.join()
    assert observed_inside >= 2


def test_without_the_wheel_uplc_runs_and_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, schedule: sc.Schedule
) -> None:
    previous = ev.evaluator_in_use()
    monkeypatch.setattr(native, "_binding", None)
    monkeypatch.setattr(native, "_unavailable", "FileNotFoundError: no libaiken_c for this platform")
    try:
        with capture_logs() as logs:
            assert ev.select_evaluator(None) == "uplc"
        assert any("uplc" in entry["event"] and "libaiken_c" in entry["why"] for entry in logs)
        built = sc.batch_release(schedule, 1)
        results = ev.evaluate_transaction(built.tx, built.utxos, sc.SLOT_CONFIG)
        assert results and all(e.ok for e in results)
        with pytest.raises(RuntimeError, match="unavailable"):
            ev.select_evaluator("compare")
    finally:
        monkeypatch.undo()
        ev.select_evaluator(previous)
