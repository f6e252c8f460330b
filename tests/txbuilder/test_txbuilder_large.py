"""500 allocations: registration splits into chained transactions, releases go out in measured batches
until every beneficiary holds what the schedule promised."""

from __future__ import annotations

from pycardano import Address
from txbuilder_support import (
    ADMIN,
    ADMIN_ADDRESS,
    OPERATOR,
    OPERATOR_ADDRESS,
    large_schedule,
    oracle_signature,
    world,
)

from milestoned.txbuilder.allocations import locked_allocations
from milestoned.txbuilder.registration import build_registration
from milestoned.txbuilder.release import build_release
from milestoned.txbuilder.signing import sign
from milestoned.txbuilder.submission import submit_all


async def test_500_allocations_register_in_chained_transactions_and_release_in_batches() -> None:
    async with world() as w:
        definition = large_schedule(w.devnet, w.now_ms, 500)
        seen: list[str] = []  # the daemon's jobs count these as they come (issue 16: progress while building)
        plan = await build_registration(
            w.chain, definition, ADMIN_ADDRESS, on_built=lambda t: seen.append(t.id)
        )
        assert seen == [t.id for t in plan.txs]
        await w.submit_chain([sign(t, [ADMIN]) for t in plan.txs])
        registrations = [t for t in plan.txs if t.kind == "registration"]
        assert len(registrations) > 1
        counts = [len(t.details["allocations"]) for t in registrations]
        assert sum(counts) == 500
        # chained: each registration spends the change of the one before it
        for before, after in zip(plan.txs, plan.txs[1:], strict=False):
            change = len(before.tx.transaction_body.outputs) - 1
            assert any(
                i.transaction_id == before.tx.id and i.index == change
                for i in after.tx.transaction_body.inputs
            )
        assert all(t.size <= 16_384 for t in plan.txs)
        locked = await locked_allocations(w.chain, plan.schedule_id, plan.validator_address)
        assert len(locked) == 500
        # the first 100 allocations (milestone M1) become claimable; the batches take them all
        w.advance_ms(31_000)
        signatures = {
            b"M1": [oracle_signature(2, plan.schedule_id, "M1"), oracle_signature(3, plan.schedule_id, "M1")]
        }
        release = await build_release(w.chain, definition, signatures, OPERATOR_ADDRESS)
        sizes = [len(t.details["allocations"]) for t in release.txs]
        assert sum(sizes) == 100 and len(sizes) >= 2
        assert all(t.mem <= 14_000_000 and t.cpu <= 10_000_000_000 and t.size <= 16_384 for t in release.txs)
        assert len(release.refused) == 400 and {e.rule for _, e in release.refused} == {"milestone_quorum"}
        await submit_all(w.chain, [sign(t, [OPERATOR]) for t in release.txs])
        w.settle()
        left = await locked_allocations(w.chain, plan.schedule_id, plan.validator_address)
        assert len(left) == 400 and all(a.datum.milestone_id == b"M2" for a in left)
        # M2 reaches quorum: the other 400 go out in batches too, and the whole schedule is paid
        signatures[b"M2"] = [
            oracle_signature(1, plan.schedule_id, "M2"),
            oracle_signature(3, plan.schedule_id, "M2"),
        ]
        seen.clear()
        rest = await build_release(
            w.chain, definition, signatures, OPERATOR_ADDRESS, on_built=lambda t: seen.append(t.id)
        )
        assert seen == [t.id for t in rest.txs]
        assert sum(len(t.details["allocations"]) for t in rest.txs) == 400 and len(rest.txs) >= 8
        assert not rest.refused
        await w.submit_chain([sign(t, [OPERATOR]) for t in rest.txs])
        assert await locked_allocations(w.chain, plan.schedule_id, plan.validator_address) == []
        for beneficiary in {a.beneficiary_address for a in definition.allocations}:
            owed = sum(a.token_amount for a in definition.allocations if a.beneficiary_address == beneficiary)
            paid = w.token_balance(Address.from_primitive(beneficiary), definition.token.policy_id)
            assert paid == owed
