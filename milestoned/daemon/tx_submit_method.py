"""The socket's `tx.submit`: transactions signed elsewhere (a hardware wallet, cardano-cli), sent in order.

A release or reclaim among them is tracked like one the daemon built (its intent recorded before it is
sent, its allocations in flight). A transaction sent before (the same id: a `tx submit` run again after
an interruption) is answered as already submitted and not sent twice: a release or reclaim the daemon
tracks is recognised by its id; any other (a registration) when the node refuses it and it is found in
the mempool or on chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from milestoned.daemon import jsonrpc
from milestoned.daemon.chain_calls import on_chain
from milestoned.daemon.jsonrpc import RpcError, only_params, param
from milestoned.daemon.submissions import Outgoing, reconcile_intents, send_recorded, transaction_known

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService


async def tx_submit(service: DaemonService, params: dict[str, Any], peer: Peer) -> Any:
    """Submit transactions signed elsewhere, in order (see the module docstring)."""
    only_params(params, {"transactions"})
    envelopes = param(params, "transactions", list)
    from milestoned.txbuilder.errors import TxBuildError
    from milestoned.txbuilder.signing import transaction_from_envelope
    from milestoned.txbuilder.submission import submit

    try:
        txs = [transaction_from_envelope(e) for e in envelopes]
    except (TxBuildError, ValueError, TypeError, KeyError) as exc:
        raise RpcError(jsonrpc.INVALID_PARAMS, f"not a signed transaction envelope: {exc}") from None
    chain = await service._tx_chain()
    async with service.write_lock:
        await service.afold()
        if service.index.intents:
            # an intent left by an interruption between recording and sending: resolved against the
            # mempool and the chain first, so that one never sent is sent now, not answered as sent
            await reconcile_intents(service)
            await service.afold()
        await service.acatch_up()
        facts = await service.read(service.projections.facts)
        spending = allocations_spent_by(service, txs, facts)
        tx_ids: list[str] = []
        already: list[str] = []
        # after the reconciliation the only intents left are a deposed leader's, which it may still send
        known = service.index.submitted.keys() | service.index.in_flight.keys() | service.index.intents.keys()
        try:
            for tx, (refs, ttl) in zip(txs, spending, strict=True):
                if str(tx.id) in known:  # a release or reclaim sent before: never twice
                    already.append(str(tx.id))
                elif refs:  # a release or reclaim: its intent is recorded before it is sent
                    tx_ids += await send_recorded(service, chain, [Outgoing(tx, refs, ttl)])
                else:
                    try:
                        tx_ids.append(await on_chain(service.link, submit(chain, tx), bounded=False))
                    except TxBuildError:
                        if not await transaction_known(service, chain, tx):
                            raise
                        already.append(str(tx.id))  # sent before an interruption: not again
        except TxBuildError as exc:
            raise RpcError(
                jsonrpc.TX_REFUSED,
                str(exc),
                f"the {len(tx_ids)} transaction(s) before it were sent; a refused release is recorded "
                "as failed; nothing else was recorded",
                refused_index=len(tx_ids) + len(already),
                submitted=[str(t) for t in tx_ids],
            ) from None
        result: dict[str, Any] = {"submitted": [str(t) for t in tx_ids], "already_submitted": already}
        if any(refs for refs, _ttl in spending):
            result["log_position"] = service.log.head().position
    return result


def allocations_spent_by(
    service: DaemonService, txs: list[Any], facts: Any
) -> list[tuple[tuple[str, ...], int]]:
    """For each signed transaction, the open allocations it spends and its validity end (slot).

    Why: a release or reclaim signed elsewhere (exported unsigned, signed offline) and submitted
    here must count as live like one the daemon built, so that its allocations are not released a
    second time meanwhile and its outcome is settled in the log. Refused, before anything is sent,
    when an allocation is already spent by another live submission.
    """
    exits = {exit_.out_ref for exit_ in (*facts.releases, *facts.reclaims)}
    open_refs = {lock.out_ref for lock in facts.locks if lock.out_ref not in exits}
    live = service.index.in_flight_refs()
    spending: list[tuple[tuple[str, ...], int]] = []
    for tx in txs:
        body = tx.transaction_body
        refs = tuple(f"{i.transaction_id}#{i.index}" for i in body.inputs)
        ours = tuple(ref for ref in refs if ref in open_refs)
        taken = {ref: live[ref] for ref in refs if ref in live and live[ref] != str(tx.id)}
        if taken:
            ref, other = next(iter(taken.items()))
            raise RpcError(
                jsonrpc.TX_REFUSED,
                f"refused (not_in_flight): allocation {ref} is already spent by live submission {other}",
                "wait until that transaction is confirmed, or until it expires "
                "(`milestonectl submissions` shows both)",
            )
        spending.append((ours, int(body.ttl or 0)))
    return spending
