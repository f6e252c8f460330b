"""A move of several allocations in one transaction on the devnet (issue 15), paid by a wallet whose input
sorts before the allocations: a filler output takes that position, each re-locked allocation sits at its
own input's position, and the validator accepts it. Refusals that need no transaction, too."""

from __future__ import annotations

import pytest
from pycardano import Address, Network, ScriptHash, TransactionInput
from txbuilder_support import beneficiary_key, demo_key, enterprise, relative_schedule, signed, world

from milestoned.contracts.loader import default_blueprint
from milestoned.domain import onchain_types as ot
from milestoned.domain.addresses import canonical_address
from milestoned.txbuilder.allocations import locked_allocations, value_of
from milestoned.txbuilder.errors import InsufficientFunds, Refusal
from milestoned.txbuilder.move import build_move
from milestoned.txbuilder.submission import submit


async def test_a_move_of_three_allocations_lays_its_outputs_at_the_inputs_positions() -> None:
    async with world() as w:
        definition = relative_schedule(w.devnet, w.now_ms)
        plan = await w.register(definition)
        alice = definition.allocations[0].beneficiary_address  # beneficiary-1: M1, M2 and M3
        locked = await locked_allocations(w.chain, plan.schedule_id, plan.validator_address)
        hers = [a for a in locked if a.beneficiary == alice]
        assert len(hers) == 3
        new_owner = enterprise(demo_key("alice-new-wallet"))

        # refused before anything is built
        validator = Address(ScriptHash(default_blueprint().validator_hash), network=Network.TESTNET)
        with pytest.raises(Refusal, match="the allocation validator's address: nothing sent there"):
            await build_move(w.chain, hers, validator, new_owner)
        with pytest.raises(Refusal, match="already belong to"):
            await build_move(w.chain, hers, Address.from_primitive(alice), new_owner)
        with pytest.raises(InsufficientFunds, match="send more lovelace"):
            await build_move(w.chain, hers, new_owner, enterprise(demo_key("an-empty-wallet")))

        # a paying wallet whose only UTxO sorts before the allocations: it needs a filler output
        first = min(a.sort_key for a in hers)
        for attempt in range(40):
            payer_key = demo_key(f"move-payer-{attempt}")
            w.devnet.fund(enterprise(payer_key), 10_000_000)
            (funding,) = [i for i, o in w.devnet.chain.utxo.items() if o.address == enterprise(payer_key)]
            if (funding.transaction_id.payload, funding.index) < first:
                break
        else:
            raise AssertionError("no funding transaction sorted before the registration")
        (built,) = await build_move(w.chain, hers, new_owner, enterprise(payer_key))
        body = built.tx.transaction_body
        inputs = sorted(body.inputs, key=lambda i: (i.transaction_id.payload, i.index))
        by_input = {a.input: a for a in hers}
        assert inputs[0] == funding and body.outputs[0].address == enterprise(payer_key)
        for index, tx_input in enumerate(inputs[1:], start=1):
            output, moved = body.outputs[index], by_input[tx_input]
            assert output.address == moved.output.address and value_of(output) == value_of(moved.output)
            assert ot.decode_allocation_datum(output.datum).beneficiary == ot.address_to_plutus(new_owner)
        spends = {r.index: r.data for r in built.tx.transaction_witness_set.redeemer or []}
        assert spends == {1: ot.Move(1), 2: ot.Move(2), 3: ot.Move(3)}
        assert [m["new_allocation"] for m in built.details["moves"]] == [
            f"{built.id}#{inputs.index(a.input)}" for a in hers
        ]

        await submit(w.chain, signed(built.tx, payer_key, beneficiary_key(1)))
        w.settle()
        after = await locked_allocations(w.chain, plan.schedule_id, plan.validator_address)
        moved = [a for a in after if a.beneficiary == canonical_address(new_owner)]
        assert {a.input for a in moved} == {TransactionInput(built.tx_id, i) for i in (1, 2, 3)}
        assert sorted(a.datum.amount for a in moved) == sorted(a.datum.amount for a in hers)
        assert not [a for a in after if a.beneficiary == alice]
