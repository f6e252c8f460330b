"""Phase-2 evaluation: run every redeemer's Plutus script of a transaction with `uplc`.

V3 scripts see the context of `script_context`; V1 and V2 scripts (spendable as on a node) see the
context of `legacy_context`, with their own cost models from the same network configuration.

This is the interface the devnet calls to validate transactions and answer `evaluateTransaction`, and
the one the tests and benchmarks use, so execution units reported anywhere in the project come from
the same code: the context from `script_context`, the Conway-era Plutus V3 cost model shipped with
`uplc` (its 2024-07-30 network configuration: the 297-parameter V3 model of mainnet since the Plomin
hard fork), pinned here so that figures do not move with the calendar or a uplc upgrade,
and a budget equal to mainnet's per-transaction maximum (14,000,000 memory, 10,000,000,000 CPU).

Translation problems that make the whole transaction meaningless to a script (an input missing from
the resolved UTxO set, a redeemer pointing past the items of its kind, unsupported governance
features, what a V1/V2 context cannot show) raise `ScriptContextError`. Problems of a single
redeemer (no script for it, a V1/V2 spend without datum, a script that fails or overspends) come back as a
`RedeemerEvaluation` with `ok=False` and an `error` that says which.

It evaluates only the redeemers the transaction carries. A script input, mint or other script purpose
left without a redeemer runs nothing here and is not reported: detecting a missing redeemer is the
ledger's phase-1 check, which the devnet makes before it calls this (error 3109, missing redeemers).
So an empty or all-`ok` result is not on its own proof that a transaction is valid.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from dataclasses import dataclass

import pycardano
from pycardano import (
    PlutusV1Script,
    PlutusV2Script,
    PlutusV3Script,
    Transaction,
    TransactionInput,
    TransactionOutput,
)
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

from milestoned.contracts.legacy_context import build_legacy_tx_info, legacy_arguments
from milestoned.contracts.loader import ensure_recursion_limit
from milestoned.contracts.script_context import (
    ScriptContextError,
    ScriptInvocation,
    SlotConfig,
    available_scripts,
    build_tx_info,
    nothing,
    script_context,
    script_invocations,
)

MAX_TX_MEM = 14_000_000
MAX_TX_CPU = 10_000_000_000
COST_MODEL_DATE = datetime.date(2024, 7, 30)  # uplc's Conway network configuration (V3: 297 parameters)


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


def evaluate_transaction(
    tx: Transaction,
    utxos: Mapping[TransactionInput, TransactionOutput],
    slot_config: SlotConfig,
    *,
    tx_id: bytes | None = None,
) -> list[RedeemerEvaluation]:
    """Evaluate every redeemer of `tx` with its script, in the ledger's redeemer order.

    `utxos` must resolve every input and reference input (collateral too, for callers that check it).
    `tx_id` overrides the id put in the context (default: hash of pycardano's re-encoded body; pass the
    hash of the submitted body bytes when you have them). Raises `ScriptContextError` when the
    transaction cannot be translated into a script context.
    """
    invocations = script_invocations(tx, utxos)
    if not invocations:
        return []
    scripts = available_scripts(tx, utxos)
    # --- language dispatch (issue 14.4): V1/V2 scripts get their own TxInfo, built once per language.
    infos: dict[str, PlutusData] = {}

    def info(language: str) -> PlutusData:
        if language not in infos:
            if language == "plutus:v3":
                infos[language] = build_tx_info(tx, utxos, slot_config, invocations, tx_id=tx_id)
            else:
                infos[language] = build_legacy_tx_info(
                    language, tx, utxos, slot_config, invocations, tx_id=tx_id
                )
        return infos[language]

    results = []
    for invocation in invocations:
        script = scripts.get(invocation.script_hash) if invocation.script_hash is not None else None
        if isinstance(script, PlutusV1Script | PlutusV2Script):
            language = "plutus:v1" if isinstance(script, PlutusV1Script) else "plutus:v2"
            results.append(evaluate_legacy_invocation(tx, invocation, info(language), script, language))
        else:
            results.append(evaluate_invocation(invocation, info("plutus:v3"), scripts))
    return results


@functools.cache
def conway_cost_models(language: str) -> tuple[CekMachineCostModel, BuiltinCostModel]:
    """The CEK machine and builtin cost models of `plutus:v1`/`v2` (same network configuration as V3)."""
    name = {"plutus:v1": "PlutusV1", "plutus:v2": "PlutusV2"}[language]
    network = dict(load_network_config(COST_MODEL_DATE)[name])
    # uplc's V1 file spells one parameter "cekApplyCost-exBudgetMem"; under that name it is not read
    # and the machine charges its 30,000,000,000 default per application.
    if "cekApplyCost-exBudgetMem" in network:
        network["cekApplyCost-exBudgetMemory"] = network.pop("cekApplyCost-exBudgetMem")
    cek = updated_cek_machine_cost_model_from_network_config(default_cek_machine_cost_model_base(), network)
    builtins = updated_builtin_cost_model_from_network_config(default_builtin_cost_model_base(), network)
    return cek, builtins


def evaluate_legacy_invocation(
    tx: Transaction,
    invocation: ScriptInvocation,
    tx_info: PlutusData,
    script: PlutusV1Script | PlutusV2Script,
    language: str,
) -> RedeemerEvaluation:
    """Run a Plutus V1/V2 script: it passes when it evaluates without error (any result)."""
    ensure_recursion_limit()
    where = f"redeemer {invocation.tag.name} #{invocation.index}"
    if invocation.tag == pycardano.RedeemerTag.SPEND and invocation.script_info.fields[1] == nothing():
        version = language[-1]
        error = f"{where}: the spent output has no datum; a Plutus V{version} script cannot run without one"
        return RedeemerEvaluation(invocation.tag, invocation.index, False, 0, 0, (), error)
    arguments = legacy_arguments(tx, tx_info, invocation)
    cek, builtins = conway_cost_models(language)
    program = decode_program(bytes(script))
    term: AST = program.term
    for argument in arguments:
        term = Apply(term, argument)
    result = Machine(Budget(cpu=MAX_TX_CPU, memory=MAX_TX_MEM), cek, builtins).eval(
        Program(program.version, term)
    )
    logs = tuple(str(line) for line in result.logs)
    failure = f"{where}: script failed: {result.result}" if isinstance(result.result, Exception) else None
    return RedeemerEvaluation(
        invocation.tag, invocation.index, failure is None, result.cost.memory, result.cost.cpu, logs, failure
    )


__all__ = [
    "MAX_TX_CPU",
    "MAX_TX_MEM",
    "RedeemerEvaluation",
    "ScriptContextError",
    "SlotConfig",
    "evaluate_transaction",
    "run_script",
]
