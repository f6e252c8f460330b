"""Our UPLC passes change no verdict and no message of the contract tests (issue 18.5).

The check itself runs in every contract test: `conftest.evaluated_without_our_passes_too` repeats each
uplc run of the committed scripts with the scripts built without our passes (tests/contracts/
unoptimised.py) and fails on any difference of verdict or trace messages. These tests show that it is
on, that it compares both scripts, and that it would see a changed message.
"""

from __future__ import annotations

import pytest
from uplc import flatten
from uplc.ast import Program

from milestoned.contracts import attacks, evaluation
from milestoned.contracts.uplc_passes import ForeignTraces

from .conftest import failures
from .unoptimised import PassesChangedOutcome, Twins


def silenced(script: bytes) -> bytes:
    """The script with every `trace` dropped (each refusal keeps its verdict and loses its message)."""
    program = evaluation.decode_program(script)
    return bytes(flatten(Program(program.version, ForeignTraces(frozenset()).visit(program.term))))


def test_each_run_of_both_scripts_is_compared_with_the_unoptimised_scripts(twins: Twins) -> None:
    """An accepted release and its attack refused by the policy ("not vested"): the policy and the
    validator both ran beside their references, and agreed."""
    good, bad = attacks.by_name()["release before vesting"].transactions(attacks.Schedules())
    before = dict(twins.compared)
    accepted = good.evaluate()
    assert accepted and all(e.ok for e in accepted), failures(accepted)
    refused = bad.evaluate()
    assert [(e.ok, e.logs) for e in refused if not e.ok] == [(False, ("not vested",))]
    assert twins.compared["policy"] >= before.get("policy", 0) + 2
    assert twins.compared["validator"] >= before.get("validator", 0) + 2


def test_a_reference_with_another_message_is_caught(twins: Twins, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's power: against a reference without traces, the same refusal (same verdict, no
    message) fails the evaluation with `PassesChangedOutcome`, and an acceptance still passes."""
    validator, template, state = twins.reference()
    silent = Twins(twins.original, lambda: (silenced(validator), silenced(template), silenced(state)))
    monkeypatch.setattr(evaluation, "run_script", silent.run_script)
    good, bad = attacks.by_name()["release before vesting"].transactions(attacks.Schedules())
    assert all(e.ok for e in good.evaluate())
    with pytest.raises(
        PassesChangedOutcome, match=r"policy with our passes gave ok=False logs=\['not vested'\]"
    ):
        bad.evaluate()
