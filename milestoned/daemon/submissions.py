"""Sending release transactions so that none is ever lost: the intent first, then the send, then the record.

    append SubmissionIntended (tx id, allocations, inputs)   ← before anything leaves the daemon
    send to the node                                          ← a crash here leaves the intent open
    append ReleaseSubmitted                                   ← the intent is resolved

Why: a kill -9 between sending and recording used to lose the record of a transaction that then
landed on chain (so `submissions` never listed it, and the next release spent its change and was
refused). Now an open intent keeps its allocations in flight and its inputs reserved, and is
reconciled with the node's mempool and the chain (`reconcile_intents`, at start and by the settlement
job): found in the mempool or on chain → ReleaseSubmitted (pending; the settlement job confirms it when
the indexer sees its block); found in neither → ReleaseSubmitted and SubmissionExpired (it never reached
the node, its allocations may be released again). A transaction the ledger refuses is recorded as
SubmissionFailed, so its intent is closed at once.

Also here: what a new release must not spend (`wallet_exclusions`): the inputs of our pending
transactions and of the mempool's, and the outputs of our transactions not known to be confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from milestoned.daemon.chain_calls import on_chain
from milestoned.daemon.jsonrpc import RpcError
from milestoned.domain.leadership import inherited_intent_may_expire
from milestoned.eventlog.events import (
    Event,
    ReleaseSubmitted,
    SubmissionExpired,
    SubmissionFailed,
    SubmissionIntended,
)

if TYPE_CHECKING:
    from milestoned.daemon.local_index import LocalIndex
    from milestoned.daemon.service import DaemonService

log = structlog.get_logger("milestoned.submissions")
OUTPUTS_CHECKED = 8
"""Outputs of an intended transaction looked up in the ledger to see whether it is on chain."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A signed transaction to send, with the allocations it spends and the end of its validity."""

    tx: Any  # pycardano Transaction
    allocation_refs: tuple[str, ...]
    validity_upper_slot: int
    tx_id: str | None = None
    """Its id when already known (a transaction the daemon built): hashing a large body again costs an
    encoding of it (pycardano does not keep it), once per transaction of a 10,000-allocation release."""


def intent_of(outgoing: Outgoing) -> SubmissionIntended:
    from milestoned.txbuilder.utxo_codec import input_text

    body = outgoing.tx.transaction_body
    return SubmissionIntended(
        tx_id=outgoing.tx_id or str(outgoing.tx.id),
        allocation_refs=outgoing.allocation_refs,
        validity_upper_slot=outgoing.validity_upper_slot,
        inputs=tuple(input_text(i) for i in body.inputs),
    )


def _submitted(intent: SubmissionIntended) -> ReleaseSubmitted:
    return ReleaseSubmitted(
        tx_id=intent.tx_id,
        allocation_refs=intent.allocation_refs,
        validity_upper_slot=intent.validity_upper_slot,
    )


async def send_recorded(service: DaemonService, chain: Any, outgoing: Sequence[Outgoing]) -> list[str]:
    """Send `outgoing` in order with their intents recorded first; returns the ids sent. The caller holds
    `service.write_lock`. A ledger refusal stops at that transaction (the later ones chain on it): it
    and the later ones are recorded as failed, the earlier ones as submitted, then the error is raised."""
    from milestoned.daemon.jsonrpc import NOT_LEADER
    from milestoned.daemon.leadership import NotLeaderError
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.submission import fault_injection_point, submit

    intents = [intent_of(o) for o in outgoing]
    try:
        await service.aappend(list(intents))  # fenced by the leader's term (daemon.leadership)
    except NotLeaderError as exc:
        raise RpcError(
            NOT_LEADER,
            f"not sent: {exc}",
            "the new leader releases what is due; `milestonectl status` on it shows the term",
        ) from None
    fault_injection_point("after-intent")
    sent: list[str] = []
    try:
        for item in outgoing:
            try:
                tx_id = await on_chain(
                    service.link,
                    submit(chain, item.tx),
                    bounded=False,
                    recorded="its intent is recorded and will be reconciled with the chain once it is back",
                )
            except TxBuildError as exc:
                await service.aappend(
                    [
                        SubmissionFailed(tx_id=i.tx_id, reason=f"refused by the node, never sent: {exc}")
                        for i in intents[len(sent) :]
                    ]
                )
                raise
            except RpcError:  # the chain went away: the later ones were certainly not sent
                later = intents[len(sent) + 1 :]
                if later:
                    await service.aappend(
                        [
                            SubmissionFailed(tx_id=i.tx_id, reason="not sent: the chain was unreachable")
                            for i in later
                        ]
                    )
                raise
            fault_injection_point("after-send")
            sent.append(tx_id)
    finally:
        if sent:
            await service.aappend([_submitted(i) for i in intents[: len(sent)]])
    return sent


async def reconcile_intents(service: DaemonService) -> list[dict[str, str]]:
    """Resolve every open intent against the node's mempool and the chain (the caller holds the write
    lock). Returns what was found for each; raises RpcError NOT_READY when the chain is unreachable."""
    from pycardano import TransactionId, TransactionInput

    from milestoned.txbuilder.mempool import mempool_view

    intents = list(service.index.intents.values())
    if not intents:
        return []
    chain = await service._tx_chain()
    pool = await on_chain(service.link, mempool_view(chain))  # the mempool first: a transaction moves
    facts = await service.read(service.projections.facts)  # from it into a block, never back
    on_chain_ids = {exit_.tx_id for exit_ in (*facts.releases, *facts.reclaims)}
    events: list[Event] = []
    found: list[dict[str, str]] = []
    for intent in intents:
        events_for: list[Event]
        if intent.tx_id in pool.tx_ids:
            outcome, events_for = "pending", [_submitted(intent)]
        else:
            outputs = [
                TransactionInput(TransactionId(bytes.fromhex(intent.tx_id)), i)
                for i in range(OUTPUTS_CHECKED)
            ]
            in_ledger = bool(await on_chain(service.link, chain.utxos_by_inputs(outputs)))
            if in_ledger or intent.tx_id in on_chain_ids:
                outcome, events_for = "confirmed", [_submitted(intent)]
            elif not inherited_intent_may_expire(
                service.index.intent_terms.get(intent.tx_id, 0),
                service.leadership.term,
                intent.validity_upper_slot,
                None if facts.tip is None else facts.tip.slot,
            ):
                # a deposed leader recorded it and may still send it: in flight until its validity ends
                found.append({"tx_id": intent.tx_id, "outcome": "inherited, open until its validity ends"})
                continue
            else:
                outcome = "expired"
                events_for = [
                    _submitted(intent),
                    SubmissionExpired(
                        tx_id=intent.tx_id,
                        reason="never reached the node: recorded as an intent before sending, then found "
                        "neither in the mempool nor on chain; its allocations may be released again",
                    ),
                ]
        events.extend(events_for)
        found.append({"tx_id": intent.tx_id, "outcome": outcome})
    if events:
        await service.aappend(events)
    log.info("submission intents reconciled", intents=found)
    return found


async def reconcile_open_intents(service: DaemonService) -> None:
    """`reconcile_intents` when a crash left intents open (the caller holds the write lock), the chain
    being unreachable only logged: the intents then stay open, so their allocations stay in flight (the
    safe side) until the next try. Why here and not only in the settlement job: a release started right
    after a restart, before that job's first run, would otherwise leave out the allocations of a
    transaction that was never sent, and end `done` with them still locked."""
    if not service.index.intents:
        return
    try:
        await reconcile_intents(service)
    except RpcError as exc:
        log.warning("submission intents not reconciled yet", reason=exc.message)


async def transaction_known(service: DaemonService, chain: Any, tx: Any) -> bool:
    """Whether `tx` is already in the node's mempool or on chain (one of its first outputs unspent in the
    ledger). Why: `tx submit` of a chain of signed transactions, interrupted and run again with the
    same files, meets the ones that were sent before the interruption; the node refuses those (their
    inputs are spent, by themselves), which is no reason to stop before the ones that were not sent."""
    from pycardano import TransactionInput

    from milestoned.txbuilder.mempool import mempool_view

    tx_id = str(tx.id)
    pool = await on_chain(service.link, mempool_view(chain))
    if tx_id in pool.tx_ids:
        return True
    count = min(OUTPUTS_CHECKED, len(tx.transaction_body.outputs))
    outputs = [TransactionInput(tx.id, i) for i in range(count)]
    return bool(await on_chain(service.link, chain.utxos_by_inputs(outputs)))


def state_seeds(index: LocalIndex) -> set[str]:
    """The state seeds (`txid#index`) of the schedules with guardians this daemon knows. No release, nor
    another schedule's registration, may spend one: that schedule's state creation must (and a wallet
    UTxO spent before it would leave the schedule without a state, so without releases, until it is
    registered again with another seed). A seed already spent is in no wallet, so listing all is free."""
    return {event.policy.state_seed for event in index.schedules.values() if event.policy.state_seed}


async def wallet_exclusions(service: DaemonService, chain: Any) -> tuple[dict[str, str], set[str], set[str]]:
    """(allocations in flight: ref → tx id, wallet inputs not to spend, tx ids whose outputs not to
    spend): our intents and unconfirmed submissions, everything in the node's mempool, and the state
    seeds of known schedules with guardians (`state_seeds`)."""
    from milestoned.txbuilder.mempool import mempool_view

    pool = await on_chain(service.link, mempool_view(chain))
    in_flight = {**pool.spent, **service.index.in_flight_refs()}
    spent = service.index.pending_input_refs() | set(pool.spent) | state_seeds(service.index)
    unconfirmed = service.index.unconfirmed_tx_ids() | set(pool.tx_ids)
    return in_flight, spent, unconfirmed
