"""Shared fixtures of the contract tests: schedules, and the execution-unit table printed at the end."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Iterator, Sequence

import pytest
from ci_rule import in_ci

from milestoned.contracts import evaluation
from milestoned.contracts import scenarios as sc
from milestoned.contracts.evaluation import (
    EVALUATOR_ENV,
    RedeemerEvaluation,
    evaluator_in_use,
    select_evaluator,
)
from milestoned.contracts.native_evaluation import unavailable_reason
from milestoned.contracts.units_table import UnitsRow, format_units_table, units_row

from .unoptimised import Twins, build_reference, reference_key

_ROWS: list[UnitsRow] = []
_TWINS: list[Twins] = []


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


@pytest.fixture(scope="session")
def twins(request: pytest.FixtureRequest) -> Twins:
    """The committed scripts and their references built without our UPLC passes (`unoptimised`).

    The reference is built at its first use (about 20 s of OpShin) and kept in pytest's cache under a
    key of everything it depends on, so a later session reuses it (not with `-p no:cacheprovider`)."""
    cache = getattr(request.config, "cache", None)
    key = f"milestoned/unoptimised/{reference_key()}"

    @functools.cache
    def reference() -> tuple[bytes, bytes, bytes]:
        stored = cache.get(key, None) if cache is not None else None
        if stored is not None and len(stored) == 3:
            return bytes.fromhex(stored[0]), bytes.fromhex(stored[1]), bytes.fromhex(stored[2])
        built = build_reference()
        if cache is not None:
            cache.set(key, [part.hex() for part in built])
        return built

    _TWINS.append(Twins(evaluation.run_script, reference))
    return _TWINS[-1]


@pytest.fixture(autouse=True)
def evaluated_without_our_passes_too(twins: Twins, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every uplc run of the committed scripts in the contract tests is repeated with the scripts built
    without our UPLC passes, on the same script context, and fails the test (`PassesChangedOutcome`)
    unless both give the same verdict and the same trace messages (tests/contracts/unoptimised.py).

    Not in the mutation run (`$MILESTONED_EVALUATOR=native`): its scripts are mutants, and a
    reference built from each mutant would cost every mutant 20 s of OpShin."""
    if os.environ.get(EVALUATOR_ENV) == "native":
        return
    monkeypatch.setattr(evaluation, "run_script", twins.run_script)


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
            _ROWS.append(units_row(case, built, _EVALUATED[key]))
        return _EVALUATED[key]

    return run


def failures(evaluations: Sequence[RedeemerEvaluation]) -> str:
    return " | ".join(f"{e.tag.name}#{e.index}: {e.error} {list(e.logs)}" for e in evaluations if not e.ok)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _ROWS:
        terminalreporter.section("contract execution units (per transaction, Conway mainnet V3 cost model)")
        terminalreporter.write_line(format_units_table(_ROWS))
    for twins in (t for t in _TWINS if t.compared):
        terminalreporter.write_line(
            f"uplc runs compared with the scripts built without our UPLC passes: "
            f"{twins.compared['policy']} of the policy, {twins.compared['validator']} of the validator, "
            f"{twins.compared['state']} of the state validator"
        )
