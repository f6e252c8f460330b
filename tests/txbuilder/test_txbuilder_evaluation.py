"""One evaluation per transaction on our side (issue 18.2): the builder measures execution units itself,
from the UTxOs it resolved, and asks the node's `evaluateTransaction` only when told to (or when it
cannot evaluate as the chain would)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from txbuilder_support import OPERATOR, OPERATOR_ADDRESS, oracle_signature, relative_schedule, world

from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.evaluation import evaluates_locally
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit

M1 = "M1-testnet-launch"


def _units(tx: Any) -> list[tuple[Any, int, int, int]]:
    return sorted(
        (r.tag.value, r.index, r.ex_units.mem, r.ex_units.steps) for r in tx.transaction_witness_set.redeemer
    )


async def test_a_release_is_evaluated_here_not_by_the_node_and_both_agree() -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await w.register(definition)
        w.advance_ms(max(a.vesting_time_ms for a in definition.allocations) - w.now_ms + 3_000)
        both = {
            m.encode(): [oracle_signature(1, plan.schedule_id, m), oracle_signature(2, plan.schedule_id, m)]
            for m in {a.milestone_id.decode() for a in definition.allocations}
        }
        asked: list[str] = []
        original = w.chain.client.evaluate_transaction

        async def counted(*args: Any, **kwargs: Any) -> Any:
            asked.append("evaluateTransaction")
            return await original(*args, **kwargs)

        w.chain.client.evaluate_transaction = counted  # type: ignore[method-assign]
        assert w.chain.evaluation == "auto"
        assert evaluates_locally("auto", await w.chain.protocol_parameters())
        registered_here = w.chain.local_evaluations  # the registration was evaluated here too
        here = await build_release(w.chain, definition, both, OPERATOR_ADDRESS)
        assert registered_here >= 1
        assert asked == [] and w.chain.local_evaluations - registered_here == len(here.txs) >= 1

        w.chain.evaluation = "node"
        by_node = await build_release(w.chain, definition, both, OPERATOR_ADDRESS)
        assert len(asked) == len(by_node.txs) == len(here.txs)
        # exact units both ways: the same transactions, byte for byte
        assert [t.tx.to_cbor() for t in by_node.txs] == [t.tx.to_cbor() for t in here.txs]
        assert all(_units(a.tx) == _units(b.tx) for a, b in zip(here.txs, by_node.txs, strict=True))

        # the devnet's check on submit accepts what was measured here
        for built in here.txs:
            await submit(w.chain, sign(built, [OPERATOR]))
        w.settle()
        assert not await locked_allocations(w.chain, plan.schedule_id, plan.validator_address)


async def test_auto_asks_the_node_when_its_cost_model_is_not_ours() -> None:
    async with world() as w:
        params = await w.chain.protocol_parameters()
        changed = dict(params.plutus_cost_models)
        changed["plutus:v3"] = (*changed["plutus:v3"][:-1], changed["plutus:v3"][-1] + 1)
        assert not evaluates_locally("auto", replace(params, plutus_cost_models=changed))
        assert evaluates_locally("local", replace(params, plutus_cost_models=changed))
        assert not evaluates_locally("node", params)
