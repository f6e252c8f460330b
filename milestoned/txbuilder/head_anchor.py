"""The transaction that publishes the log's head (`domain.head_anchor`), paid by the operator wallet.

It spends only the wallet's own outputs and pays the change back to it: its one effect is the metadata.
"""

from __future__ import annotations

from pycardano import Address, AuxiliaryData, Metadata

from milestoned.domain.head_anchor import HEAD_ANCHOR_LABEL, HeadAnchor
from milestoned.txbuilder.assembly import BuiltTx, TxPlan, assemble
from milestoned.txbuilder.chain_context import OgmiosChain


async def build_head_anchor(chain: OgmiosChain, payer: Address, anchor: HeadAnchor) -> BuiltTx:
    """An unsigned transaction from `payer` to itself carrying `anchor` in metadata label 1968."""
    utxos = await chain.utxos_at([payer])
    metadata = AuxiliaryData(Metadata({HEAD_ANCHOR_LABEL: anchor.to_document()}))
    return await assemble(chain, TxPlan("head anchor", [], utxos, payer, auxiliary_data=metadata))
