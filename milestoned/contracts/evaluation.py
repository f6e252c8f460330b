"""Phase-2 evaluation: run every redeemer's Plutus V3 script of a transaction with `uplc`.

This is the interface the devnet calls to validate transactions and answer `evaluateTransaction`, and
the one the tests and benchmarks use, so execution units reported anywhere in the project come from
the same code: the context from `script_context`, the Conway-era Plutus V3 cost model shipped with
`uplc` (its 2024-07-30 network configuration: the 297-parameter V3 model of mainnet since the Plomin
hard fork), pinned here so that figures do not move with the calendar or a uplc upgrade,
and a budget equal to mainnet's per-transaction maximum (14,000,000 memory, 10,000,000,000 CPU).

Translation problems that make the whole transaction meaningless to a script (an input missing from
the resolved UTxO set, a redeemer pointing past the items of its kind, unsupported governance
features) raise `ScriptContextError`: to a ledger those are phase-1 failures. Problems of a single
redeemer (no script for it, a script that is not V3, a script that fails or overspends) come back as a
`RedeemerEvaluation` with `ok=False` and an `error` that says which.

It evaluates only the redeemers the transaction carries. A script input, mint or other script purpose
left without a redeemer runs nothing here and is not reported: detecting a missing redeemer is the
ledger's phase-1 check, which the devnet makes before it calls this (error 3109, missing redeemers).
So an empty or all-`ok` result is not on its own proof that a transaction is valid.

Two evaluators stand behind `evaluate_transaction` (which one runs is logged once per process):
- `native`: Aiken's evaluator compiled natively (`native_evaluation`, the `biglup-cometa` wheel), about
  ten times faster than `uplc` and releasing the GIL, so evaluations run in parallel in threads. It
  covers every Plutus language and script purpose. It reports the exact units of every redeemer when
  all pass; when one fails, the transaction is evaluated again with `uplc`, which reports every
  redeemer with its traces (failures are rare and cheap next to a release's success path).
- `uplc`: pure Python, the fallback where the wheel or its native library is missing.
`MILESTONED_EVALUATOR=uplc` forces the fallback; `compare` runs both on every transaction and raises
`EvaluatorMismatch` unless they agree on the verdict and on each redeemer's units (the contract tests
run so). Both get the same pinned cost models (`cost_model_values`).
"""

from __future__ import annotations

import datetime
import functools
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import cbor2
import pycardano
import structlog
from pycardano import PlutusV3Script, Transaction, TransactionInput, TransactionOutput
from pycardano.serialization import default_encoder
from uplc import unflatten
from uplc.ast import AST, Apply, BuiltinUnit, PlutusData, Program
from uplc.cost_model import (
    Budget,
    BuiltinCostModel,
    CekMachineCostModel,
    default_builtin_cost_model_base,
    default_cek_machine_cost_model_base,
    load_network_config,
    updated_builtin_cost_model_from_network_config,
    updated_cek_machine_cost_model_from_network_config,
)
from uplc.machine import Machine

from milestoned.contracts import native_evaluation as native
from milestoned.contracts.loader import ensure_recursion_limit
from milestoned.contracts.script_context import (
    ScriptContextError,
    ScriptInvocation,
    SlotConfig,
    available_scripts,
    build_tx_info,
    redeemer_entries,
    script_context,
    script_invocations,
)

MAX_TX_MEM = 14_000_000
MAX_TX_CPU = 10_000_000_000
COST_MODEL_DATE = datetime.date(2024, 7, 30)  # uplc's Conway network configuration (V3: 297 parameters)
LANGUAGES = {0: "PlutusV1", 1: "PlutusV2", 2: "PlutusV3"}
"""The ledger's language ids and the names of their cost models in the network configuration."""
EVALUATOR_ENV = "MILESTONED_EVALUATOR"
"""`native`, `uplc` or `compare`; unset: native where the wheel runs, else uplc."""

EvaluatorName = Literal["native", "uplc", "compare"]
log = structlog.get_logger("milestoned.evaluation")


class EvaluatorMismatch(AssertionError):
    """In `compare` mode the native evaluator and uplc disagreed on a transaction (say how)."""


@dataclass(frozen=True)
class RedeemerEvaluation:
    """What one redeemer's script did: the units it actually used and, when it failed, why."""

    tag: pycardano.RedeemerTag
    index: int
    ok: bool
    mem: int
    cpu: int
    logs: tuple[str, ...]
    error: str | None


@functools.cache
def cost_model_values(language: int) -> tuple[int, ...]:
    """The pinned cost model of a language (0 = V1, 1 = V2, 2 = V3) as the ledger lists it: the values
    of the network configuration `uplc` is given, in its order (the ledger's parameter order; the same
    values the devnet publishes and the script integrity hash commits to)."""
    return tuple(load_network_config(COST_MODEL_DATE)[LANGUAGES[language]].values())


@functools.cache
def conway_v3_cost_models() -> tuple[CekMachineCostModel, BuiltinCostModel]:
    """The CEK machine and builtin cost models of Plutus V3 on mainnet since the Conway era."""
    network = load_network_config(COST_MODEL_DATE)["PlutusV3"]
    cek = updated_cek_machine_cost_model_from_network_config(default_cek_machine_cost_model_base(), network)
    builtins = updated_builtin_cost_model_from_network_config(default_builtin_cost_model_base(), network)
    return cek, builtins


@functools.lru_cache(maxsize=64)
def decode_program(script: bytes) -> Program:
    """The UPLC program of a script's on-chain bytes (CBOR-wrapped flat), decoded once per script."""
    ensure_recursion_limit()
    return unflatten(script)


def run_script(
    script: bytes, arguments: tuple[PlutusData, ...], budget: Budget | None = None
) -> tuple[bool, int, int, tuple[str, ...], str | None]:
    """Apply a V3 script to its arguments and run it: (ok, mem, cpu, logs, error).

    A V3 script succeeds only when it evaluates to `unit` without error within the budget.
    """
    ensure_recursion_limit()
    cek, builtins = conway_v3_cost_models()
    program = decode_program(script)
    machine = Machine(budget or Budget(cpu=MAX_TX_CPU, memory=MAX_TX_MEM), cek, builtins)
    term: AST = program.term
    for argument in arguments:
        term = Apply(term, argument)
    result = machine.eval(Program(program.version, term))
    logs = tuple(str(line) for line in result.logs)
    mem, cpu = result.cost.memory, result.cost.cpu
    if isinstance(result.result, Exception):
        return False, mem, cpu, logs, f"script failed: {result.result}"
    if not isinstance(result.result, BuiltinUnit):
        return (
            False,
            mem,
            cpu,
            logs,
            f"a Plutus V3 script must return unit, got {result.result.dumps()[:200]}",
        )
    return True, mem, cpu, logs, None


def evaluate_invocation(
    invocation: ScriptInvocation,
    tx_info: PlutusData,
    scripts: Mapping[bytes, pycardano.PlutusScript],
) -> RedeemerEvaluation:
    """Run the script of one redeemer on its context."""

    def failed(error: str) -> RedeemerEvaluation:
        return RedeemerEvaluation(invocation.tag, invocation.index, False, 0, 0, (), error)

    where = f"redeemer {invocation.tag.name} #{invocation.index}"
    if invocation.script_hash is None:
        return failed(f"{where} is not for a script: its item is not locked or issued by a script")
    script = scripts.get(invocation.script_hash)
    if script is None:
        return failed(
            f"{where} needs script {invocation.script_hash.hex()}, which is neither in the witness set "
            "nor a reference script of an input or reference input"
        )
    if not isinstance(script, PlutusV3Script):
        return failed(
            f"{where}: script {invocation.script_hash.hex()} is Plutus V{script.version}; only V3 runs here"
        )
    ok, mem, cpu, logs, error = run_script(bytes(script), (script_context(tx_info, invocation),))
    return RedeemerEvaluation(
        invocation.tag, invocation.index, ok, mem, cpu, logs, error and f"{where}: {error}"
    )


def evaluate_with_uplc(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    *,
    tx_id: bytes | None = None,
) -> list[RedeemerEvaluation]:
    """Every redeemer of `tx` run by `uplc`, in the ledger's redeemer order (see `evaluate_transaction`)."""
    invocations = script_invocations(tx, utxos)
    if not invocations:
        return []
    tx_info = build_tx_info(tx, utxos, slot_config, invocations, tx_id=tx_id)
    scripts = available_scripts(tx, utxos)
    return [evaluate_invocation(invocation, tx_info, scripts) for invocation in invocations]


@functools.cache
def _native_cost_models() -> bytes:
    return native.encode_cost_models({language: cost_model_values(language) for language in LANGUAGES})


def evaluate_natively(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    *,
    tx_cbor: bytes | None = None,
) -> list[RedeemerEvaluation] | native.NativeFailure:
    """Every redeemer's exact units by Aiken, in the ledger's redeemer order, when all of them pass;
    otherwise why not (the caller asks `uplc` for the per-redeemer story)."""
    body = tx.transaction_body
    wanted = list(dict.fromkeys([*body.inputs, *(body.reference_inputs or [])]))
    missing = [i for i in wanted if i not in utxos]
    if missing:
        return native.NativeFailure(f"{len(missing)} input(s) are not in the resolved UTxO set")
    try:
        redeemers = {(tag.value, index) for tag, index, _, _ in redeemer_entries(tx)}
    except ScriptContextError as exc:
        return native.NativeFailure(str(exc))
    if not redeemers:
        return []
    count = len(redeemers)
    outcome = native.eval_phase_two(
        tx_cbor if tx_cbor is not None else tx.to_cbor(),
        cbor2.dumps([i.to_primitive() for i in wanted]),
        cbor2.dumps([utxos[i] for i in wanted], default=default_encoder),
        _native_cost_models(),
        (MAX_TX_MEM * count, MAX_TX_CPU * count),
        slot_config,
    )
    if isinstance(outcome, native.NativeFailure):
        return outcome
    if {(u.tag, u.index) for u in outcome} != redeemers or len(outcome) != count:
        return native.NativeFailure("the native evaluator did not report every redeemer once")
    over = [u for u in outcome if u.mem > MAX_TX_MEM or u.cpu > MAX_TX_CPU]
    if over:
        return native.NativeFailure(f"{len(over)} redeemer(s) exceed the per-transaction budget", True)
    return [
        RedeemerEvaluation(pycardano.RedeemerTag(u.tag), u.index, True, u.mem, u.cpu, (), None)
        for u in sorted(outcome, key=lambda u: (u.tag, u.index))
    ]


_selection_lock = threading.Lock()
_selected: EvaluatorName | None = None


def select_evaluator(name: EvaluatorName | None) -> EvaluatorName:
    """Use `name` from now on (None: back to the default: $MILESTONED_EVALUATOR, else native where the
    wheel runs, else uplc); returns the evaluator in use and logs it when it changes."""
    global _selected
    wanted = name or os.environ.get(EVALUATOR_ENV) or "native"
    if wanted not in ("native", "uplc", "compare"):
        raise ValueError(f"${EVALUATOR_ENV} must be native, uplc or compare, not {wanted!r}")
    reason = native.unavailable_reason() if wanted != "uplc" else None
    chosen: EvaluatorName = "uplc" if reason is not None else wanted  # type: ignore[assignment]
    if wanted == "compare" and reason is not None:
        raise RuntimeError(f"the compare evaluator needs the native one, which is unavailable: {reason}")
    with _selection_lock:
        changed, _selected = chosen != _selected, chosen
    if changed:
        if chosen == "uplc":
            log.info(
                "phase-2 evaluation by the pure-Python uplc",
                why=f"native evaluator unavailable ({reason})" if reason else f"${EVALUATOR_ENV}=uplc",
            )
        else:
            log.info(
                "phase-2 evaluation by Aiken's native evaluator",
                wheel=f"{native.WHEEL} {native.version()}",
                cross_checked_with_uplc=chosen == "compare",
            )
    return chosen


def evaluator_in_use() -> EvaluatorName:
    """The evaluator `evaluate_transaction` runs (chosen, and logged, on first use)."""
    return _selected if _selected is not None else select_evaluator(None)


def evaluate_transaction(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    *,
    tx_id: bytes | None = None,
    tx_cbor: bytes | None = None,
) -> list[RedeemerEvaluation]:
    """Evaluate every redeemer of `tx` with its script, in the ledger's redeemer order.

    `utxos` must resolve every input and reference input (collateral too, for callers that check it).
    `tx_cbor` is the transaction as submitted (default: pycardano's encoding) and `tx_id` the hash of
    its body (default: hash of pycardano's re-encoded body): pass both when you have the original
    bytes, so the script context carries the id the ledger computes. Raises `ScriptContextError` when
    the transaction cannot be translated into a script context. Safe to call from several threads.
    """
    mode = evaluator_in_use()
    if mode == "uplc":
        return evaluate_with_uplc(tx, utxos, slot_config, tx_id=tx_id)
    fast = evaluate_natively(tx, utxos, slot_config, tx_cbor=tx_cbor)
    if mode == "native" and not isinstance(fast, native.NativeFailure):
        return fast
    try:
        detailed = evaluate_with_uplc(tx, utxos, slot_config, tx_id=tx_id)
    except ScriptContextError:
        if mode == "compare" and not isinstance(fast, native.NativeFailure):
            raise EvaluatorMismatch("uplc cannot build the script context the native evaluator ran") from None
        raise
    if mode == "compare":
        check_agreement(fast, detailed)
    elif isinstance(fast, native.NativeFailure) and fast.phase_two and all(e.ok for e in detailed):
        # Aiken refused what uplc accepts (never seen; the contract tests compare both on every
        # transaction): an evaluator never turns a failure into a pass, so the refusal stands.
        log.error("evaluators disagree: native refused what uplc accepted", native=fast.message)
        return [
            RedeemerEvaluation(e.tag, e.index, False, e.mem, e.cpu, e.logs, f"native: {fast.message}")
            for e in detailed
        ]
    return detailed


def check_agreement(
    fast: list[RedeemerEvaluation] | native.NativeFailure, detailed: list[RedeemerEvaluation]
) -> None:
    """Raise `EvaluatorMismatch` unless both evaluators give the same verdict and, when every redeemer
    passes, the same units for each. A native refusal by one of Aiken's phase-1 checks is no verdict
    on the scripts (uplc makes none of those checks: the devnet's ledger does)."""
    if isinstance(fast, native.NativeFailure):
        if fast.phase_two and all(e.ok for e in detailed):
            raise EvaluatorMismatch(f"native refused ({fast.message}) what uplc accepted: {_units(detailed)}")
        return
    if not all(e.ok for e in detailed):
        failures = "; ".join(f"{e.tag.name}#{e.index}: {e.error}" for e in detailed if not e.ok)
        raise EvaluatorMismatch(f"native accepted what uplc refused: {failures}")
    if _units(fast) != _units(detailed):
        raise EvaluatorMismatch(f"units differ: native {_units(fast)}, uplc {_units(detailed)}")


def _units(evaluations: list[RedeemerEvaluation]) -> list[tuple[str, int, int, int]]:
    return [(e.tag.name, e.index, e.mem, e.cpu) for e in evaluations]


__all__ = [
    "EVALUATOR_ENV",
    "MAX_TX_CPU",
    "MAX_TX_MEM",
    "EvaluatorMismatch",
    "RedeemerEvaluation",
    "ScriptContextError",
    "SlotConfig",
    "check_agreement",
    "cost_model_values",
    "evaluate_natively",
    "evaluate_transaction",
    "evaluate_with_uplc",
    "evaluator_in_use",
    "run_script",
    "select_evaluator",
]
