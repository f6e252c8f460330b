"""Aiken's phase-2 evaluator, compiled natively, through the C function of the `biglup-cometa` wheel.

WHY this binding and not the wheel's Python class: `cometa.aiken.AikenTxEvaluator` divides the budget
it hands the evaluator by 1.025 and multiplies the units it returns by 1.025 (a "safety margin"), so its
figures are neither the ledger's nor `uplc`'s. The C function `eval_phase_two` of `libaiken_c` (the
wheel's cffi handle on it, `cometa._aiken_ffi`) returns the exact units; we call it directly. cffi
releases the GIL for the whole call, so evaluations run in parallel in threads.

The evaluator is given:
- the transaction's CBOR exactly as the caller has it (the script context's transaction id is the hash
  of these body bytes);
- every input and reference input with the output it resolves to, as two CBOR arrays;
- the cost models of Plutus V1, V2 and V3 as the ledger encodes them (`{0: [...], 1: [...], 2: [...]}`),
  from the same pinned network configuration `uplc` is given (`evaluation.COST_MODEL_DATE`);
- a budget. Aiken runs the redeemers one after the other, each from what the previous ones left of
  the budget; the ledger (and Ogmios's `evaluateTransaction`, and our `uplc` path) gives each redeemer
  the whole per-transaction maximum. So the budget handed over is the maximum once per redeemer, and a
  redeemer that used more than the maximum is treated as failed by the caller.

On failure Aiken reports only the first failing redeemer, as a Rust debug string; the caller
(`evaluation.py`) re-runs the transaction with `uplc` to report every redeemer with its traces.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cbor2

from milestoned.contracts.script_context import SlotConfig

WHEEL = "biglup-cometa"

_lock = threading.Lock()
_binding: tuple[Any, Any] | None = None
_unavailable: str | None = None


@dataclass(frozen=True)
class NativeUnits:
    """One redeemer's exact execution units, by Aiken."""

    tag: int
    index: int
    mem: int
    cpu: int


@dataclass(frozen=True)
class NativeFailure:
    """Aiken did not give every redeemer's units: its message, and whether a script failed (phase 2).

    Aiken also makes some of the ledger's phase-1 checks (exact set of redeemers, scripts present,
    inputs resolved) before it runs any script; those refusals are not verdicts on the scripts.
    """

    message: str
    phase_two: bool = False


def _load() -> tuple[Any, Any] | None:
    """The wheel's cffi handle and library, loaded once; None (with the reason kept) when unavailable."""
    global _binding, _unavailable
    with _lock:
        if _binding is None and _unavailable is None:
            try:
                from cometa._aiken_ffi import aiken_ffi, aiken_lib

                _binding = (aiken_ffi, aiken_lib)
            except Exception as exc:  # no wheel, no native library for this platform, a broken build
                _unavailable = f"{type(exc).__name__}: {exc}"
    return _binding


def unavailable_reason() -> str | None:
    """Why the native evaluator cannot run here, or None when it can."""
    _load()
    return _unavailable


def version() -> str:
    """The installed wheel's version (for the log line that says which evaluator runs)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version(WHEEL)
    except PackageNotFoundError:
        return "not installed"


def encode_cost_models(models: Mapping[int, Sequence[int]]) -> bytes:
    """The ledger's CBOR of cost models: language id (0 = V1, 1 = V2, 2 = V3) -> parameter values."""
    return cbor2.dumps({language: list(values) for language, values in sorted(models.items())})


def eval_phase_two(
    tx_cbor: bytes,
    inputs_cbor: bytes,
    outputs_cbor: bytes,
    cost_models_cbor: bytes,
    budget: tuple[int, int],
    slot_config: SlotConfig,
) -> list[NativeUnits] | NativeFailure:
    """Run every redeemer of the transaction; the GIL is released while Aiken works.

    `inputs_cbor` is a CBOR array of output references, `outputs_cbor` the array of the outputs they
    resolve to (same order); `budget` is (memory, cpu) for the whole run.
    """
    binding = _load()
    if binding is None:
        raise RuntimeError(f"the native evaluator ({WHEEL}) is unavailable here: {_unavailable}")
    ffi, lib = binding
    initial = ffi.new("InitialBudget*")
    initial.mem, initial.cpu = budget
    slots = ffi.new("SlotConfig*")
    slots.slot_length = slot_config.slot_length_ms
    slots.zero_slot = slot_config.zero_slot
    slots.zero_time = slot_config.zero_time_ms
    pointer = lib.eval_phase_two(
        tx_cbor.hex().encode(),
        inputs_cbor.hex().encode(),
        outputs_cbor.hex().encode(),
        cost_models_cbor.hex().encode(),
        initial,
        slots,
    )
    if pointer == ffi.NULL:
        return NativeFailure("the native evaluator returned nothing")
    try:
        answer = json.loads(ffi.string(pointer))
    finally:
        lib.drop_char_pointer(pointer)
    if str(answer.get("status", "")).upper() != "SUCCESS":
        message = str(answer.get("error") or "the native evaluator failed without a message")
        return NativeFailure(message, phase_two="RedeemerError" in message)
    return _units(answer.get("redeemer_cbor") or "")


def _units(redeemers_hex: str) -> list[NativeUnits]:
    """Aiken's redeemers (a legacy list `[tag, index, data, [mem, cpu]]` or a Conway map) as units."""
    if not redeemers_hex:
        return []
    decoded = cbor2.loads(bytes.fromhex(redeemers_hex))
    if isinstance(decoded, dict):
        entries = [(key[0], key[1], value[1]) for key, value in decoded.items()]
    else:
        entries = [(entry[0], entry[1], entry[3]) for entry in decoded]
    return [NativeUnits(int(tag), int(index), int(units[0]), int(units[1])) for tag, index, units in entries]


__all__ = [
    "NativeFailure",
    "NativeUnits",
    "encode_cost_models",
    "eval_phase_two",
    "unavailable_reason",
    "version",
]
