"""The socket's `wallet.utxos`: the unspent outputs of an address, for an admin choosing a state seed.

Why: a schedule with guardians names its state seed (`state_seed`), one of the registering wallet's
UTxOs that the state's creation spends, and the schedule id depends on it, so it is chosen before the
schedule is registered (`milestonectl schedule seed`). Each UTxO says whether it is free to serve: not
spent by a transaction waiting in the mempool or by one of ours, and not another known schedule's seed.
Read only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from milestoned.daemon.chain_calls import on_chain
from milestoned.daemon.jsonrpc import only_params, param
from milestoned.daemon.request_checks import check_address

if TYPE_CHECKING:
    from milestoned.daemon.peercred import Peer
    from milestoned.daemon.service import DaemonService


async def wallet_utxos(service: DaemonService, params: dict[str, Any], peer: Peer) -> dict[str, Any]:
    from pycardano import Address

    from milestoned.daemon.submissions import state_seeds
    from milestoned.txbuilder.assembly import is_plain
    from milestoned.txbuilder.mempool import mempool_view
    from milestoned.txbuilder.utxo_codec import input_text

    only_params(params, {"address"})
    address = check_address("address", param(params, "address", str), service.config.chain.cardano_network)
    chain = await service._tx_chain()
    held = await on_chain(service.link, chain.utxos_at([Address.from_primitive(address)]))
    pool = await on_chain(service.link, mempool_view(chain))
    busy = set(pool.spent) | service.index.pending_input_refs()
    seeds = state_seeds(service.index)
    rows: list[dict[str, Any]] = []
    for utxo in sorted(held, key=lambda u: input_text(u.input)):
        ref = input_text(utxo.input)
        amount = utxo.output.amount
        rows.append(
            {
                "utxo": ref,
                "lovelace": amount if isinstance(amount, int) else int(amount.coin),
                "plain": is_plain(utxo.output),  # ADA only, no datum, no script
                "state_seed_of_another_schedule": ref in seeds,
                "being_spent": ref in busy,
            }
        )
    return {"address": address, "utxos": rows}
