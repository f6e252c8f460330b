"""Reclaim: after the reclaim deadline the admin takes back every allocation that was never released.

Each transaction spends a batch of the schedule's allocation UTxOs, burns their auth tokens with the
`Reclaim` redeemer (the policy checks the admin's signature and that the validity range starts at or
after the deadline) and pays the tokens and the locked ADA back to the admin's address. Before the
deadline it is refused with the deadline in the message, before anything is built.

A cancellation (`txbuilder.cancel`) is a kind of reclaim: it takes allocations back the same way
(`build_back_to_admin`), with its own redeemer and no deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pycardano import Address, PlutusData, Transaction, TransactionOutput, Value, VerificationKeyHash

from milestoned.domain import onchain_types as ot
from milestoned.domain.schedule import ScheduleDefinition
from milestoned.txbuilder import fees
from milestoned.txbuilder.allocations import AllocationUtxo, build_in_batches, locked_allocations
from milestoned.txbuilder.assembly import BuiltTx, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain, SnapshotChainContext
from milestoned.txbuilder.errors import Refusal
from milestoned.txbuilder.registration import tokens
from milestoned.txbuilder.release import (
    DEFAULT_VALIDITY_MS,
    ReleasePlan,
    ScheduleOnChain,
    _details,
    schedule_on_chain,
)
from milestoned.txbuilder.release_checks import in_flight_refs, refuse_unless_deadline
from milestoned.txbuilder.wallet import ChainedWallet

FIRST_RECLAIM_BATCH = 80


async def build_reclaim(
    chain: OgmiosChain,
    definition: ScheduleDefinition,
    admin_address: Address | str,
    *,
    allocations: Sequence[str] | None = None,
    in_flight: Collection[str] | Mapping[str, str] = (),
    validity_ms: int = DEFAULT_VALIDITY_MS,
    reference_address: Address | None = None,
    first_batch: int = FIRST_RECLAIM_BATCH,
    pending: Sequence[Transaction] = (),
    reserved: Collection[str] = (),
) -> ReleasePlan:
    """Build (unsigned) the reclaim of every unreleased allocation (or of `allocations`), paid and signed by
    the admin, whose key hash must be the schedule's admin."""
    admin = Address.from_primitive(admin_address) if isinstance(admin_address, str) else admin_address
    on_chain = await schedule_on_chain(chain, definition, reference_address)
    schedule_id = on_chain.scripts.schedule_id
    snapshot = await chain.snapshot([admin])
    time = snapshot.chain_time
    refuse_unless_deadline(definition.reclaim_deadline_ms, time.now_ms)
    locked = await locked_allocations(chain, schedule_id, on_chain.validator_address)
    busy = in_flight_refs(in_flight)
    plan = ReleasePlan(schedule_id)
    if allocations is not None:
        by_reference = {a.reference: a for a in locked}
        chosen: list[AllocationUtxo] = []
        for reference in allocations:
            if reference not in by_reference:
                raise Refusal(
                    "allocation_locked",
                    f"allocation {reference} is not locked at the validator: it was released or reclaimed "
                    "already, or is not an allocation of this schedule",
                )
            if reference in busy:
                raise Refusal(
                    "not_in_flight",
                    f"allocation {reference} is in pending transaction {busy[reference]}; wait for it to "
                    "be confirmed or to expire",
                )
            chosen.append(by_reference[reference])
    else:
        chosen, plan.refused = not_in_flight(locked, busy)
    if not chosen:
        raise Refusal(
            "allocation_locked",
            f"schedule {schedule_id.hex()} has no unreleased allocation left to reclaim"
            + (" that is not already in a pending transaction" if plan.refused else ""),
        )
    plan.txs = await build_back_to_admin(
        BackToAdmin(chain, definition, on_chain, snapshot, admin, pending, reserved),
        chosen,
        "reclaim",
        lambda _batch: ot.Reclaim(),
        valid_from_tip=True,
        validity_ms=validity_ms,
        first_batch=first_batch,
    )
    return plan


def not_in_flight(
    locked: Sequence[AllocationUtxo], busy: Mapping[str, str]
) -> tuple[list[AllocationUtxo], list[tuple[str, Refusal]]]:
    """The allocations free to take back, and a refusal for each one a pending transaction spends (a
    reclaim or a cancellation of every allocation leaves those out rather than failing)."""
    refused = [
        (a.reference, Refusal("not_in_flight", f"allocation {a.reference} is in pending transaction {tx}"))
        for a in locked
        if (tx := busy.get(a.reference)) is not None
    ]
    return [a for a in locked if a.reference not in busy], refused


@dataclass(frozen=True)
class BackToAdmin:
    """Where allocations go back to the admin from: the chain, the schedule and its scripts on chain, the
    snapshot the transactions are built from, the admin's address, transactions still pending, and what
    the wallet must not spend."""

    chain: OgmiosChain
    definition: ScheduleDefinition
    on_chain: ScheduleOnChain
    snapshot: SnapshotChainContext
    admin: Address
    pending: Sequence[Transaction] = ()
    reserved: Collection[str] = ()
    """UTxOs of the admin's wallet never to spend (`ChainedWallet`: a guarded schedule's state seed)."""


async def build_back_to_admin(
    source: BackToAdmin,
    chosen: Sequence[AllocationUtxo],
    kind: str,
    redeemer: Callable[[Sequence[AllocationUtxo]], PlutusData],
    *,
    valid_from_tip: bool,
    validity_ms: int,
    first_batch: int,
    details: Callable[[Sequence[AllocationUtxo]], dict[str, Any]] = lambda _batch: {},
) -> list[BuiltTx]:
    """The transactions, in batches, that spend `chosen`, burn their auth tokens with the policy
    `redeemer` of each batch, and pay their tokens and locked ADA back to the admin, who signs and pays.

    WHY one builder: a reclaim (after the deadline: valid only from the tip, `valid_from_tip`) and a
    cancellation (no deadline) differ only in the redeemer and what the details name."""
    admin, snapshot, on_chain = source.admin, source.snapshot, source.on_chain
    schedule_id = on_chain.scripts.schedule_id
    time = snapshot.chain_time
    wallet = ChainedWallet(snapshot.utxos(admin), admin, source.pending, source.reserved)
    params = snapshot.parameters
    token = source.definition.token

    async def build(batch: Sequence[AllocationUtxo]) -> BuiltTx:
        amount = sum(a.datum.amount for a in batch)
        back = fees.with_minimum_lovelace(
            params,
            TransactionOutput(admin, Value(0, tokens(token.policy_id, token.asset_name, amount))),
            at_least=sum(a.lovelace for a in batch),
        )
        tx_plan = TxPlan(
            kind,
            [back],
            wallet.utxos,
            admin,
            script_inputs=[a.utxo for a in batch],
            spend_redeemer=ot.SpendAllocation(),
            mint=tokens(schedule_id, ot.AUTH_TOKEN_NAME, -len(batch)),
            mint_redeemers={schedule_id: redeemer(batch)},
            reference_inputs=on_chain.references.as_list(),
            required_signers=[VerificationKeyHash(source.definition.admin_key_hash)],
            validity_start=time.tip_slot if valid_from_tip else None,
            ttl=time.tip_slot + time.slots_for(validity_ms),
            unconfirmed=wallet.unconfirmed,  # read only: no copy per transaction
        )
        built = await assemble(source.chain, tx_plan)
        built.details = _details(
            schedule_id, batch, time, built, **details(batch), reclaimed_amount=amount, to=str(admin)
        )
        wallet.advance(built)
        return built

    return await build_in_batches(chosen, first_batch, params, build)
