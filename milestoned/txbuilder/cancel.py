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

from pycardano import Address, Transaction

from milestoned.domain import onchain_types as ot
from milestoned.domain.cancellation import VerifiedCancellation, label
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.txbuilder.allocations import AllocationUtxo, locked_allocations
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.errors import Refusal
from milestoned.txbuilder.reclaim import BackToAdmin, build_back_to_admin, not_in_flight
from milestoned.txbuilder.release import DEFAULT_VALIDITY_MS, ReleasePlan, schedule_on_chain
from milestoned.txbuilder.release_checks import in_flight_refs

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
    locked = [
        a
        for a in await locked_allocations(chain, schedule_id, on_chain.validator_address)
        if a.datum.milestone_id in by_milestone
    ]
    busy = in_flight_refs(in_flight)
    plan = ReleasePlan(schedule_id)
    chosen, plan.refused = not_in_flight(locked, busy)
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

    def redeemer(batch: Sequence[AllocationUtxo]) -> ot.Cancel:
        """Each batch's redeemer lists only the milestones it spends (each costs its verification)."""
        return cancel_redeemer([by_milestone[m] for m in {a.datum.milestone_id for a in batch}])

    plan.txs = await build_back_to_admin(
        BackToAdmin(chain, definition, on_chain, snapshot, admin, pending, reserved),
        chosen,
        "cancellation",
        redeemer,
        valid_from_tip=False,
        validity_ms=validity_ms,
        first_batch=first_batch,
        details=lambda batch: {
            "cancelled_milestones": sorted(label(m) for m in {a.datum.milestone_id for a in batch})
        },
    )
    return plan
