"""What the node's mempool holds: transactions sent but not in a block yet, and what they spend.

Why the builders look: the ledger tip still shows the UTxOs a pending transaction spends. A release
built on one of them is refused (3117, the input is taken), and after a crash the daemon may not even
know the pending transaction is its own. So coin selection leaves out every input the mempool spends,
and a release leaves out every allocation a pending transaction spends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from milestoned.ogmios.model import Transaction
from milestoned.txbuilder.chain_context import OgmiosChain


@dataclass(frozen=True)
class MempoolView:
    tx_ids: frozenset[str] = frozenset()
    spent: dict[str, str] = field(default_factory=dict)
    """`txid#index` → id of the mempool transaction consuming it (its inputs, or its collaterals when
    its scripts failed)."""


async def mempool_view(chain: OgmiosChain) -> MempoolView:
    """A snapshot of the node's mempool (LocalTxMonitor: acquire, read every transaction, release)."""
    client = chain.client
    await client.acquire_mempool()
    tx_ids: set[str] = set()
    spent: dict[str, str] = {}
    try:
        while True:
            tx = await client.next_transaction(full=True)
            if tx is None:
                break
            if not isinstance(tx, Transaction):  # an id alone: nothing to learn about its inputs
                tx_ids.add(str(tx))
                continue
            tx_ids.add(tx.id)
            consumed = tx.collaterals if tx.spends == "collaterals" else tx.inputs  # a collateral is
            for ref in consumed:  # only taken when the scripts fail, so it may serve another transaction
                spent[f"{ref.transaction_id}#{ref.index}"] = tx.id
    finally:
        await client.release_mempool()
    return MempoolView(frozenset(tx_ids), spent)
