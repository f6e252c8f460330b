"""Cancel: the admin takes back a cancelled milestone's allocations at once, before the reclaim deadline.

Each transaction spends a batch of the schedule's still-locked allocations of the cancelled milestone(s),
burns their auth tokens with the `Cancel` redeemer (the policy checks the admin's signature and, for
each listed milestone, a quorum of distinct known oracles' signatures over `milestoned/cancel/v1 ||
schedule id || milestone id`, and that every spent allocation's milestone is listed) and pays the tokens
and the locked ADA back to the admin's address, like a reclaim. The redeemer of a batch lists only the
milestones it spends (each listed milestone costs its signatures' verification). No validity range is
needed: a cancellation has no deadline; the transactions still carry a TTL so that an unconfirmed one
expires and its allocations may be cancelled again.

The cancellations given here are already verified (`domain.cancellation.verify_cancellation`): the
builder only puts them in the redeemer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from pycardano import Address, Transaction, TransactionOutput, Value, VerificationKeyHash

from milestoned.domain import onchain_types as ot
from milestoned.domain.cancellation import VerifiedCancellation, label
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.txbuilder import fees
from milestoned.txbuilder.allocations import AllocationUtxo, build_in_batches, locked_allocations
from milestoned.txbuilder.assembly import BuiltTx, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import Refusal
from milestoned.txbuilder.registration import tokens
from milestoned.txbuilder.release import DEFAULT_VALIDITY_MS, ReleasePlan, _details, schedule_on_chain
from milestoned.txbuilder.release_checks import in_flight_refs
from milestoned.txbuilder.wallet import ChainedWallet

FIRST_CANCEL_BATCH = 80


def cancel_redeemer(cancellations: Sequence[VerifiedCancellation]) -> ot.Cancel:
    """The policy's `Cancel` redeemer: each milestone with its signatures in ascending oracle index."""
    return ot.Cancel(
        [
            ot.milestone_attestation(c.milestone_id, dict(c.signatures))
            for c in sorted(cancellations, key=lambda c: c.milestone_id)
        ]
    )


async def build_cancel(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    admin_address: Address | str,
    cancellations: Sequence[VerifiedCancellation],
    *,
    in_flight: Collection[str] | Mapping[str, str] = (),
    validity_ms: int = DEFAULT_VALIDITY_MS,
    reference_address: Address | None = None,
    first_batch: int = FIRST_CANCEL_BATCH,
    pending: Sequence[Transaction] = (),
    reserved: Collection[str] = (),
) -> ReleasePlan:
    """Build (unsigned) the transactions taking back every still-locked allocation of the cancelled
    milestones, paid and signed by the admin, whose key hash must be the schedule's admin."""
    admin = Address.from_primitive(admin_address) if isinstance(admin_address, str) else admin_address
    on_chain = await schedule_on_chain(chain, definition, reference_address)
    schedule_id = on_chain.scripts.schedule_id
    by_milestone = {c.milestone_id: c for c in cancellations}
    if not by_milestone or any(c.schedule_id != schedule_id for c in cancellations):
        raise ValueError("give at least one cancellation, each of this schedule")
    snapshot = await chain.snapshot([admin])
    time = snapshot.chain_time
    locked = [
        a
        for a in await locked_allocations(chain, schedule_id, on_chain.validator_address)
        if a.datum.milestone_id in by_milestone
    ]
    busy = in_flight_refs(in_flight)
    plan = ReleasePlan(schedule_id)
    chosen = [a for a in locked if a.reference not in busy]
    plan.refused = [
        (
            a.reference,
            Refusal(
                "not_in_flight", f"allocation {a.reference} is in pending transaction {busy[a.reference]}"
            ),
        )
        for a in locked
        if a.reference in busy
    ]
    if not chosen:
        names = ", ".join(repr(label(m)) for m in sorted(by_milestone))
        raise Refusal(
            "allocation_locked",
            f"schedule {schedule_id.hex()} has no allocation of milestone {names} left locked"
            + (
                " that is not already in a pending transaction"
                if plan.refused
                else ": they were released, reclaimed or cancelled already (`milestonectl claimable` shows "
                "each)"
            ),
        )
    wallet = ChainedWallet(snapshot.utxos(admin), admin, pending, reserved)
    params = snapshot.parameters
    token = definition.token

    async def build(batch: Sequence[AllocationUtxo]) -> BuiltTx:
        amount = sum(a.datum.amount for a in batch)
        back = fees.with_minimum_lovelace(
            params,
            TransactionOutput(admin, Value(0, tokens(token.policy_id, token.asset_name, amount))),
            at_least=sum(a.lovelace for a in batch),
        )
        milestones = {a.datum.milestone_id for a in batch}
        redeemer = cancel_redeemer([by_milestone[m] for m in milestones])
        tx_plan = TxPlan(
            "cancellation",
            [back],
            wallet.utxos,
            admin,
            script_inputs=[a.utxo for a in batch],
            spend_redeemer=ot.SpendAllocation(),
            mint=tokens(schedule_id, ot.AUTH_TOKEN_NAME, -len(batch)),
            mint_redeemers={schedule_id: redeemer},
            reference_inputs=on_chain.references.as_list(),
            required_signers=[VerificationKeyHash(definition.admin_key_hash)],
            ttl=time.tip_slot + time.slots_for(validity_ms),
            unconfirmed=wallet.unconfirmed,  # read only: no copy per transaction
        )
        built = await assemble(chain, tx_plan)
        built.details = _details(
            schedule_id,
            batch,
            time,
            built,
            cancelled_milestones=sorted(label(m) for m in milestones),
            reclaimed_amount=amount,
            to=str(admin),
        )
        wallet.advance(built)
        return built

    plan.txs = await build_in_batches(chosen, first_batch, params, build)
    return plan
