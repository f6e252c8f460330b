"""How the builder learns each redeemer's execution units: evaluated here, or asked of the node.

WHY local by default: the builder has already resolved every UTxO the transaction touches (its inputs,
reference inputs and collateral, confirmed or not), so it can run the scripts itself instead of sending
the whole transaction to `evaluateTransaction` only to have it evaluated again on submission. One
evaluation per transaction on our side; the node's (or devnet's) check on submit is the only second.
Local evaluation runs in a worker thread (the native evaluator releases the GIL), so the event loop the
daemon shares with chain sync and the socket keeps serving, and several builds evaluate in parallel.

`OgmiosChain(evaluation=...)` chooses: `auto` (the default) evaluates locally when the native evaluator
runs here and the chain publishes the very Plutus V3 cost model we evaluate with (the pinned one, see
`milestoned.contracts.evaluation.COST_MODEL_DATE`), and asks the node otherwise (a real node after a
cost-model change, a platform without the native library: the node is faster than pure-Python uplc);
`local` always evaluates here; `node` always asks `evaluateTransaction`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pycardano import RedeemerTag, Transaction, TransactionInput, TransactionOutput

from milestoned.ogmios.errors import ScriptExecutionFailure
from milestoned.ogmios.state_queries import ProtocolParameters

if TYPE_CHECKING:
    from milestoned.txbuilder.chain_context import OgmiosChain

PURPOSE_TAGS = {"spend": RedeemerTag.SPEND, "mint": RedeemerTag.MINT}

Units = dict[tuple[RedeemerTag, int], tuple[int, int]]
"""Measured (memory, cpu) of each redeemer, by (tag, index)."""


class ScriptsFail(Exception):
    """The evaluator says the transaction's scripts fail; `over_budget` when they ran out of units."""

    def __init__(self, message: str, *, over_budget: bool) -> None:
        self.over_budget = over_budget
        super().__init__(message)


def evaluates_locally(mode: str, params: ProtocolParameters) -> bool:
    """Whether `mode` (auto / local / node) evaluates here against a chain with `params`."""
    if mode == "local":
        return True
    if mode == "node":
        return False
    from milestoned.contracts.evaluation import cost_model_values, evaluator_in_use

    published = tuple(params.plutus_cost_models.get("plutus:v3", ()))
    return evaluator_in_use() != "uplc" and published == cost_model_values(2)


async def measure_units(
    chain: OgmiosChain,
    tx: Transaction,
    resolved: Mapping[TransactionInput, TransactionOutput],
    unconfirmed: Mapping[TransactionInput, TransactionOutput],
) -> Units:
    """Each redeemer's units, locally from `resolved` (every input, reference input and collateral of
    `tx`) or by the node (`unconfirmed` are the outputs it does not have yet). Raises `ScriptsFail`."""
    if evaluates_locally(chain.evaluation, await chain.protocol_parameters()):
        return await _measure_here(chain, tx, resolved)
    return await _measure_by_node(chain, tx, unconfirmed)


async def _measure_here(
    chain: OgmiosChain, tx: Transaction, resolved: Mapping[TransactionInput, TransactionOutput]
) -> Units:
    from milestoned.contracts.evaluation import ScriptContextError, evaluate_transaction

    slot_config = (chain.last_chain_time or await chain.chain_time()).slot_config()
    chain.local_evaluations += 1
    try:
        results = await asyncio.to_thread(evaluate_transaction, tx, dict(resolved), slot_config)
    except ScriptContextError as exc:
        raise ScriptsFail(f"its scripts cannot be evaluated: {exc}", over_budget=False) from exc
    failed = [r for r in results if not r.ok]
    if failed:
        reasons = "; ".join(
            f"{r.tag.name.lower()} #{r.index}: {r.error}"
            + (f" (traces: {' | '.join(r.logs)})" if r.logs else "")
            for r in failed
        )
        over = any("budget" in (r.error or "").lower() for r in failed)
        raise ScriptsFail(f"the local evaluator says its scripts fail: {reasons}", over_budget=over)
    return {(r.tag, r.index): (r.mem, r.cpu) for r in results}


async def _measure_by_node(
    chain: OgmiosChain, tx: Transaction, unconfirmed: Mapping[TransactionInput, TransactionOutput]
) -> Units:
    try:
        budgets = await chain.evaluate(tx, unconfirmed)
    except ScriptExecutionFailure as exc:
        over = any(
            "budget" in f.message.lower() or "budget" in str(f.validation_error).lower() for f in exc.failures
        )
        raise ScriptsFail(f"the node's evaluator says its scripts fail: {exc}", over_budget=over) from exc
    units: Units = {}
    for budget in budgets:
        tag = PURPOSE_TAGS.get(budget.validator.purpose)
        if tag is None:
            raise ScriptsFail(
                f"unexpected redeemer purpose {budget.validator.purpose} in the evaluation", over_budget=False
            )
        units[(tag, budget.validator.index)] = (budget.budget.memory, budget.budget.cpu)
    return units


__all__ = ["PURPOSE_TAGS", "ScriptsFail", "Units", "evaluates_locally", "measure_units"]
