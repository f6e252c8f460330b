"""The transaction that publishes the log's head (`domain.head_anchor`), paid by the operator wallet.

It spends only the wallet's own outputs and pays the change back to it: its one effect is the metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

from pycardano import Address, AuxiliaryData, Metadata, Transaction

from milestoned.domain.head_anchor import HEAD_ANCHOR_LABEL, HeadAnchor
from milestoned.txbuilder.assembly import BuiltTx, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain
from milestoned.txbuilder.wallet import ChainedWallet


async def build_head_anchor(
    chain: OgmiosChain, payer: Address, anchor: HeadAnchor, pending: Sequence[Transaction] = ()
) -> BuiltTx:
    """An unsigned transaction from `payer` to itself carrying `anchor` in metadata label 1968.

    `pending` are earlier anchors maybe not yet in a block: their inputs are not spent again (a second
    anchor while the first waits would be refused), their change is spent instead."""
    wallet = ChainedWallet(await chain.utxos_at([payer]), payer, pending)
    metadata = AuxiliaryData(Metadata({HEAD_ANCHOR_LABEL: anchor.to_document()}))
    plan = TxPlan(
        "head anchor", [], wallet.utxos, payer, auxiliary_data=metadata, unconfirmed=dict(wallet.unconfirmed)
    )
    return await assemble(chain, plan)
