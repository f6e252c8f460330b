"""Scripts as the ledger sees them: their hashes, and native (timelock) script evaluation.

WHY here and not in pycardano: pycardano builds native scripts but never *evaluates* them; the
ledger's phase-1 rule does, against the transaction's signers and validity interval.
"""

from __future__ import annotations

from collections.abc import Set
from typing import TypeAlias

from pycardano import NativeScript, PlutusV1Script, PlutusV2Script, PlutusV3Script
from pycardano.nativescript import (
    InvalidBefore,
    InvalidHereAfter,
    ScriptAll,
    ScriptAny,
    ScriptNofK,
    ScriptPubkey,
)
from pycardano.plutus import script_hash

AnyScript: TypeAlias = NativeScript | PlutusV1Script | PlutusV2Script | PlutusV3Script
PlutusScript: TypeAlias = PlutusV1Script | PlutusV2Script | PlutusV3Script


def script_hash_of(script: AnyScript) -> bytes:
    """The 28-byte hash that addresses and policy ids use for this script."""
    return bytes(script_hash(script).payload)


def is_plutus(script: AnyScript) -> bool:
    return isinstance(script, PlutusV1Script | PlutusV2Script | PlutusV3Script)


def plutus_language(script: PlutusScript) -> str:
    """`plutus:vN`, the key of the script's cost model in the protocol parameters."""
    if isinstance(script, PlutusV3Script):
        return "plutus:v3"
    if isinstance(script, PlutusV2Script):
        return "plutus:v2"
    return "plutus:v1"


def native_script_holds(
    script: NativeScript,
    signers: Set[bytes],
    invalid_before: int | None,
    invalid_hereafter: int | None,
) -> bool:
    """Evaluate a native script (Allegra timelock semantics).

    `after` (InvalidBefore s) holds when the transaction cannot be valid before s: its lower bound is
    set and at least s. `before` (InvalidHereAfter s) holds when its upper bound is set and at most s.
    """
    if isinstance(script, ScriptPubkey):
        return bytes(script.key_hash.payload) in signers
    if isinstance(script, ScriptAll):
        return all(
            native_script_holds(s, signers, invalid_before, invalid_hereafter) for s in script.native_scripts
        )
    if isinstance(script, ScriptAny):
        return any(
            native_script_holds(s, signers, invalid_before, invalid_hereafter) for s in script.native_scripts
        )
    if isinstance(script, ScriptNofK):
        held = sum(
            1
            for s in script.native_scripts
            if native_script_holds(s, signers, invalid_before, invalid_hereafter)
        )
        return held >= script.n
    if isinstance(script, InvalidBefore):
        return invalid_before is not None and script.before <= invalid_before
    if isinstance(script, InvalidHereAfter):
        return invalid_hereafter is not None and invalid_hereafter <= script.after
    raise TypeError(f"unknown native script clause {type(script).__name__}")
