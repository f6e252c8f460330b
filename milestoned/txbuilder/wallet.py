"""The paying wallet's UTxOs as seen by a chain of transactions that are not all in a block yet.

Why: the ledger tip lags behind what we submitted. A wallet that already paid for a pending
transaction still shows the spent UTxO at the tip; building on it would be refused with 3117. So the
wallet starts from the tip's UTxOs, removes what pending transactions spend, adds their change, and
advances again with every transaction built in the same call (which is how registration and batch
releases chain: each spends the change of the one before it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from pycardano import Address, Transaction, TransactionInput, TransactionOutput, UTxO

from milestoned.txbuilder.assembly import BuiltTx
from milestoned.txbuilder.utxo_codec import input_text


class ChainedWallet:
    """UTxOs of `address` after the `pending` transactions, plus the outputs not yet on chain."""

    def __init__(
        self,
        utxos: Iterable[UTxO],
        address: Address,
        pending: Sequence[Transaction] = (),
        reserved: Collection[str] = (),
    ) -> None:
        """`reserved`: UTxOs (`txid#index`) never to spend, the state seeds of schedules with guardians
        (their state's creation must spend them)."""
        self.address = address
        on_chain = [u for u in utxos if input_text(u.input) not in reserved]
        known = {u.input for u in on_chain}
        spent = {i for tx in pending for i in tx.transaction_body.inputs}
        self.utxos = [u for u in on_chain if u.input not in spent]
        self.unconfirmed: dict[TransactionInput, TransactionOutput] = {}
        for tx in pending:
            tx_id = tx.id
            for index, output in enumerate(tx.transaction_body.outputs):
                reference = TransactionInput(tx_id, index)
                if reference in spent or reference in known:
                    continue
                self.unconfirmed[reference] = output
                if output.address == address:
                    self.utxos.append(UTxO(reference, output))

    def advance(self, built: BuiltTx) -> None:
        """After `built`: its inputs are gone, its change (last output) is ours, its outputs pending."""
        outputs = built.tx.transaction_body.outputs
        change_index = len(outputs) - 1
        self.utxos = [u for u in self.utxos if u.input not in built.spent]
        self.utxos.append(UTxO(TransactionInput(built.tx_id, change_index), outputs[change_index]))
        self.unconfirmed.update(built.produced)


def spendable(
    utxos: Iterable[UTxO], *, spent_elsewhere: Collection[str], unconfirmed_tx_ids: Collection[str]
) -> list[UTxO]:
    """The wallet's UTxOs a new transaction may spend: not an input of a transaction that is pending
    (ours, recorded as an intent or a submission, or any in the node's mempool), and not an output of a
    transaction not known to be confirmed (its change may still vanish). References are `txid#index`.

    Why: after a crash the daemon's own unrecorded transaction may still be pending; spending what it
    spends, or its change, was refused (3117) until it settled, and an output of a transaction that is
    rolled back or expires would make the new one invalid too.
    """
    return [
        u
        for u in utxos
        if input_text(u.input) not in spent_elsewhere
        and u.input.transaction_id.payload.hex() not in unconfirmed_tx_ids
    ]
