"""Phase-2 validation through the project's one Plutus V3 evaluator (`milestoned.contracts.evaluation`).

WHY an adapter: the ledger only knows the small `PlutusEvaluator` protocol, so its rules can be tested
with any evaluator; this module binds that protocol to the real evaluator and to the devnet's slot
clock, so the devnet and the contract tests report the same execution units for the same transaction.
"""

from __future__ import annotations

from milestoned.contracts.evaluation import ScriptContextError, SlotConfig, evaluate_transaction
from milestoned.devnet.ledger import EvaluationContextError, PlutusEvaluator, ScriptRun, UtxoSet
from milestoned.devnet.network import Network
from milestoned.devnet.parameters import ExUnits
from milestoned.devnet.transaction import DecodedTransaction


def slot_config_of(network: Network) -> SlotConfig:
    """The evaluator's slot arithmetic for `network`: from the first slot after Byron (whose 20-second
    slots no Plutus transaction ever sees), one slot length per slot."""
    return SlotConfig(
        zero_time_ms=network.shelley_start_ms,
        zero_slot=network.byron_slots,
        slot_length_ms=network.slot_length_ms,
    )


def contracts_evaluator(network: Network) -> PlutusEvaluator:
    """An evaluator whose script contexts put validity intervals in `network`'s time."""
    slot_config = slot_config_of(network)

    def evaluate(tx: DecodedTransaction, utxos: UtxoSet) -> list[ScriptRun]:
        body = tx.tx.transaction_body
        if (
            len(tx.inputs) != len(body.inputs)
            or len(tx.reference_inputs) != len(body.reference_inputs or [])
            or len(tx.collaterals) != len(body.collateral or [])
        ):
            # The script context must see the ledger's sets; decoding refuses repetitions, so this
            # only guards against a caller that bypassed `decode_transaction`.
            raise EvaluationContextError("an output reference is repeated in a set of the transaction")
        try:
            results = evaluate_transaction(tx.tx, utxos, slot_config, tx_id=tx.id, tx_cbor=tx.raw)
        except ScriptContextError as exc:
            raise EvaluationContextError(str(exc)) from exc
        return [
            ScriptRun(r.tag, r.index, r.ok, ExUnits(r.mem, r.cpu), tuple(r.logs), r.error) for r in results
        ]

    return evaluate
