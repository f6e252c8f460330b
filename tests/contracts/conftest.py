"""Shared fixtures of the contract tests: schedules, and the execution-unit table printed at the end."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence

import pytest
from ci_rule import in_ci

from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import (
    EVALUATOR_ENV,
    RedeemerEvaluation,
    evaluator_in_use,
    select_evaluator,
)
from milestoned.contracts.native_evaluation import unavailable_reason

_ROWS: list[sc.UnitsRow] = []


@pytest.fixture(scope="session")
def schedule() -> sc.Schedule:
    """Three oracles, quorum two."""
    return sc.Schedule(label="s1", oracle_count=3, quorum=2)


@pytest.fixture(scope="session")
def other_schedule() -> sc.Schedule:
    """A second schedule with the same admin rules but its own id (another nonce and oracles)."""
    return sc.Schedule(label="s2", oracle_count=3, quorum=2)


@pytest.fixture(scope="module", autouse=True)
def cross_checked_evaluation() -> Iterator[None]:
    """Every evaluation of the contract tests runs both evaluators, Aiken's native one and uplc, and
    fails (`EvaluatorMismatch`) unless they agree on the verdict and on each redeemer's units: the
    native evaluator that the builder and the devnet use is held to the reference one here.

    An explicit `$MILESTONED_EVALUATOR` wins: the mutation run (`make mutants`) sets `native`, since it
    asks only whether a mutant script is refused, and each mutant would otherwise pay for uplc too."""
    previous = evaluator_in_use()
    missing = unavailable_reason()
    if missing is not None and not in_ci():
        # as with PostgreSQL: outside CI a machine without the native library runs uplc alone, visibly
        warnings.warn(
            f"contract tests not cross-checked: native evaluator unavailable ({missing})", stacklevel=1
        )
        yield
        return
    select_evaluator(os.environ.get(EVALUATOR_ENV) or "compare")  # type: ignore[arg-type]
    yield
    select_evaluator(previous)


Evaluate = Callable[[str, sc.Built], list[RedeemerEvaluation]]


_EVALUATED: dict[bytes, list[RedeemerEvaluation]] = {}


@pytest.fixture
def evaluate() -> Evaluate:
    """Evaluate a built transaction's scripts and record its execution units under `case`.

    The same transaction (byte for byte, over the same spent outputs) is evaluated once per session:
    several attacks start from the same accepted transaction, and evaluation is deterministic. The
    spent outputs are part of the key: two tests may build the same body over UTxOs with other datums."""

    def run(case: str, built: sc.Built) -> list[RedeemerEvaluation]:
        key = built.tx.to_cbor() + b"".join(
            i.to_cbor() + o.to_cbor() for i, o in sorted(built.utxos.items(), key=lambda kv: kv[0].to_cbor())
        )
        if key not in _EVALUATED:
            _EVALUATED[key] = built.evaluate()
            _ROWS.append(sc.units_row(case, built, _EVALUATED[key]))
        return _EVALUATED[key]

    return run


def failures(evaluations: Sequence[RedeemerEvaluation]) -> str:
    return " | ".join(f"{e.tag.name}#{e.index}: {e.error} {list(e.logs)}" for e in evaluations if not e.ok)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _ROWS:
        terminalreporter.section("contract execution units (per transaction, Conway mainnet V3 cost model)")
        terminalreporter.write_line(sc.format_units_table(_ROWS))
