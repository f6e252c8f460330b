"""What `assemble` makes of the local evaluator's verdicts: tests for mutants of `txbuilder/evaluation.py`
that survived (issue 19).

The verdicts are scripted (the evaluator itself, native and uplc, is tested in tests/contracts and
tests/txbuilder/test_txbuilder_evaluation.py): units measured here are declared with the margin, a
failing script is reported with its traces, one out of budget is `TooLarge`, a transaction whose
scripts cannot even be run is an evaluation failure that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from pycardano import RedeemerTag, Transaction, TransactionInput, TransactionOutput

from milestoned.contracts import evaluation as evaluator
from milestoned.contracts.evaluation import RedeemerEvaluation
from milestoned.contracts.script_context import ScriptContextError
from milestoned.txbuilder.assembly import TooLarge
from milestoned.txbuilder.errors import EvaluationFailed

from .test_txbuilder_assembly_mutants import StubChain, build, mint_plan, utxo


class Time:
    def slot_config(self) -> str:
        return "the chain's slot config"


@dataclass
class LocalChain(StubChain):
    """Evaluates here (`evaluation="local"`), never asking the node."""

    evaluation = "local"
    last_chain_time: Any = None
    local_evaluations: int = 0

    def __post_init__(self) -> None:
        self.last_chain_time = Time()

    async def evaluate(self, tx: Transaction, unconfirmed: Mapping[Any, Any] = {}) -> Any:
        raise AssertionError("asked the node")


def verdicts(monkeypatch: pytest.MonkeyPatch, *answer: RedeemerEvaluation | Exception) -> list[Any]:
    seen: list[Any] = []

    def evaluate_transaction(
        tx: Transaction, utxos: Mapping[TransactionInput, TransactionOutput], slot_config: Any
    ) -> list[RedeemerEvaluation]:
        seen.append((tx, dict(utxos), slot_config))
        if answer and isinstance(answer[0], Exception):
            raise answer[0]
        return [a for a in answer if isinstance(a, RedeemerEvaluation)]

    monkeypatch.setattr(evaluator, "evaluate_transaction", evaluate_transaction)
    return seen


def test_units_measured_here_are_declared_with_the_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = verdicts(
        monkeypatch, RedeemerEvaluation(RedeemerTag.MINT, 0, True, 1_000_000, 123_456_789, (), None)
    )
    chain = LocalChain()
    wallet = utxo(1, 20_000_000)
    built = build(chain, mint_plan(wallet))
    assert (built.mem, built.cpu, chain.local_evaluations) == (1_010_001, 124_691_357, 1)
    [(_, utxos, slot_config)] = seen
    assert slot_config == "the chain's slot config" and utxos[wallet.input] == wallet.output


def test_a_failing_script_is_reported_with_its_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts(
        monkeypatch,
        RedeemerEvaluation(
            RedeemerTag.MINT, 0, False, 10, 10, ("auth token not burned", "at burn"), "failed"
        ),
    )
    with pytest.raises(EvaluationFailed) as refused:
        build(LocalChain(), mint_plan(utxo(1, 20_000_000)))
    assert not isinstance(refused.value, TooLarge)
    assert str(refused.value) == (
        "this release would fail, so it was not submitted: the local evaluator says its scripts fail: "
        "mint #0: failed (traces: auth token not burned | at burn)"
    )


def test_a_failure_without_traces_names_none(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts(monkeypatch, RedeemerEvaluation(RedeemerTag.MINT, 0, False, 10, 10, (), "failed"))
    with pytest.raises(EvaluationFailed) as refused:
        build(LocalChain(), mint_plan(utxo(1, 20_000_000)))
    assert str(refused.value).endswith("the local evaluator says its scripts fail: mint #0: failed")


def test_a_script_out_of_budget_is_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts(monkeypatch, RedeemerEvaluation(RedeemerTag.MINT, 0, False, 10, 10, (), "Out of Budget: mem"))
    with pytest.raises(TooLarge) as refused:
        build(LocalChain(), mint_plan(utxo(1, 20_000_000)))
    assert str(refused.value) == "this release needs more execution units than one transaction may use"


def test_scripts_that_cannot_be_run_are_an_evaluation_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts(monkeypatch, ScriptContextError("no script for policy 08080808"))
    with pytest.raises(EvaluationFailed) as refused:
        build(LocalChain(), mint_plan(utxo(1, 20_000_000)))
    assert str(refused.value) == (
        "this release would fail, so it was not submitted: its scripts cannot be evaluated: no script for "
        "policy 08080808"
    )
