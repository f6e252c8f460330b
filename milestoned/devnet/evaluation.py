"""`evaluateTransaction`: run a transaction's scripts as Ogmios 6.14 does, without submitting it.

WHY apart from the ledger rules: evaluation answers other questions with other codes (3002, 3004,
3010, 3012) over a different UTxO set: the ledger's tip plus the caller's `additionalUtxo` plus the
outputs of mempool transactions, and the transaction may be unbalanced and unsigned.

WHY in three steps (`prepare_evaluation`, `run_prepared`, and `scripts_for_submission` /
`run_for_submission` for submissions): the scripts are the slow part, and the server runs them in a
worker thread while its event loop keeps serving chain sync and other clients. Everything that reads
the chain's state (which the loop changes) happens on the loop, before: the thread gets its own copy of
the outputs the scripts see, and the transaction, both immutable for it.
"""

from __future__ import annotations

from typing import Any

import cbor2
from pycardano import RawCBOR, TransactionOutput

from milestoned.devnet import encode
from milestoned.devnet.ledger import (
    EvaluationContextError,
    LedgerError,
    LedgerView,
    PlutusEvaluator,
    ScriptRun,
    UtxoSet,
    _err,
    _refs_json,
    redeemers_of,
)
from milestoned.devnet.scripts import script_hash_of
from milestoned.devnet.transaction import DecodedTransaction
from milestoned.devnet.values import bag_of
from milestoned.devnet.wellformed import parse, plain


def same_output(a: TransactionOutput, b: TransactionOutput) -> bool:
    """Equal as the ledger compares outputs: address, value, datum and script (not their encoding)."""

    def key(output: TransactionOutput) -> tuple[Any, ...]:
        datum = output.datum
        return (
            bytes(output.address),
            bag_of(output.amount),
            bytes(output.datum_hash.payload) if output.datum_hash is not None else None,
            _datum_value(datum) if datum is not None else None,
            script_hash_of(output.script) if output.script is not None else None,
        )

    return key(a) == key(b)


def _datum_value(datum: Any) -> Any:
    """An inline datum as a comparable value, however it was decoded (raw CBOR or pycardano data)."""
    raw = datum.cbor if isinstance(datum, RawCBOR) else datum.to_cbor() if hasattr(datum, "to_cbor") else None
    if raw is None:
        raw = cbor2.dumps(datum)
    return plain(parse(bytes(raw)))


Prepared = tuple[PlutusEvaluator, UtxoSet]
"""The evaluator and the outputs the transaction's scripts see (a copy, safe to hand to a thread)."""


def evaluate_redeemers(
    view: LedgerView, decoded: DecodedTransaction, additional: UtxoSet
) -> list[ScriptRun] | LedgerError:
    """`evaluateTransaction`: run every redeemer with the ledger's UTxO plus `additional` entries.

    The transaction may be unbalanced and unsigned; only what the scripts need must resolve.
    """
    prepared = prepare_evaluation(view, decoded, additional)
    if isinstance(prepared, LedgerError):
        return prepared
    return run_prepared(decoded, prepared)


def prepare_evaluation(
    view: LedgerView, decoded: DecodedTransaction, additional: UtxoSet
) -> Prepared | LedgerError:
    """`evaluateTransaction`'s checks that read the chain (on the event loop): what the scripts see,
    or the error Ogmios answers instead of running them."""
    # As Ogmios 6.14: entries the ledger also has are fine when identical; if any differs, every
    # overlapping reference is reported.
    overlapping = [t for t in additional if t in view.utxo]
    if any(not same_output(additional[t], view.utxo[t]) for t in overlapping):
        return _err(
            3002,
            "Some additional UTxO entries differ from the ledger's outputs at the same references; "
            "leave them out or pass them exactly as the ledger has them.",
            {"overlappingOutputReferences": _refs_json(overlapping)},
        )
    utxo = {**view.utxo, **additional}
    wanted = [*decoded.inputs, *decoded.reference_inputs, *decoded.collaterals]
    unknown = [t for t in dict.fromkeys(wanted) if t not in utxo]
    redeemers = redeemers_of(decoded)
    if unknown:
        inner = {
            "code": 3117,
            "message": "Unknown output references: the inputs do not exist or are already spent.",
            "data": {"unknownOutputReferences": _refs_json(unknown)},
        }
        return _err(
            3010,
            "Some scripts cannot run: their inputs are unknown. Pass them in additionalUtxo.",
            [{"validator": encode.redeemer_pointer(r.tag, r.index), "error": inner} for r in redeemers],
        )
    if view.evaluator is None:
        return _err(3004, "The devnet has no Plutus evaluator.", {"reason": "Plutus evaluation unavailable"})
    return view.evaluator, {t: utxo[t] for t in dict.fromkeys(wanted)}


def run_prepared(decoded: DecodedTransaction, prepared: Prepared) -> list[ScriptRun] | LedgerError:
    """Run the scripts (anywhere: reads nothing of the chain) and answer as `evaluateTransaction`."""
    evaluator, context = prepared
    try:
        runs = evaluator(decoded, context)
    except EvaluationContextError as exc:
        return _err(3004, f"Cannot create the evaluation context: {exc}", {"reason": str(exc)})
    failures = [
        {
            "validator": encode.redeemer_pointer(run.tag, run.index),
            "error": {
                "code": 3012,
                "message": f"The script failed: {run.error}",
                "data": {"validationError": run.error or "script failed", "traces": list(run.logs)},
            },
        }
        for run in runs
        if not run.ok
    ]
    if failures:
        return _err(3010, "Some scripts failed to validate; see each validator's error and traces.", failures)
    return runs


def scripts_for_submission(view: LedgerView, decoded: DecodedTransaction) -> Prepared | None:
    """What a submitted transaction's scripts see, to run them before the ledger's rules (off the event
    loop); None when there is nothing to run ahead (no redeemer, no evaluator, an output that does not
    resolve: the ledger's rules then answer, with the code they give)."""
    if view.evaluator is None or not redeemers_of(decoded):
        return None
    wanted = [*decoded.inputs, *decoded.reference_inputs, *decoded.collaterals]
    if any(t not in view.utxo for t in wanted):
        return None
    return view.evaluator, {t: view.utxo[t] for t in dict.fromkeys(wanted)}


def run_for_submission(decoded: DecodedTransaction, prepared: Prepared) -> tuple[ScriptRun, ...] | None:
    """The script runs the ledger would compute for `decoded` (its `known_runs`), or None when the
    evaluator refuses the context (the ledger re-raises that with its own code)."""
    evaluator, context = prepared
    try:
        return tuple(evaluator(decoded, context))
    except EvaluationContextError:
        return None
