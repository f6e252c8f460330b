"""The devnet's chain: blocks, the UTxO set, the mempool, rollbacks and forks.

WHY no clock and no I/O here: the slot only moves when the owner calls `advance` (the server's timer,
or `devnet/advanceTime`), and blocks are only made by `produce_block`. Tests can thus drive the chain
step by step, and the server stays a thin shell of timers and sockets around it.

Every block keeps undo information (what it spent, what it created), so the chain can roll back up to
k blocks and continue on a fork. Blocks that left the chain stay known by id, so a follower whose
cursor sits on an abandoned block can be told where its fork meets the current chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import cbor2
import orjson
from pycardano import Address, TransactionInput, TransactionOutput

from milestoned.devnet import encode
from milestoned.devnet.evaluation import Prepared, prepare_evaluation, run_prepared
from milestoned.devnet.faucet import FAUCET_FUNDS, Faucet, funding_transaction, genesis_input
from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.ledger import (
    LedgerError,
    LedgerView,
    PlutusEvaluator,
    ScriptRun,
    ValidatedTransaction,
    validate_transaction,
)
from milestoned.devnet.parameters import SECURITY_PARAMETER, ExUnits, ProtocolParameters
from milestoned.devnet.transaction import DecodedTransaction, block_body_size, decode_transaction


@dataclass(frozen=True)
class Block:
    """A block of the devnet, with its Ogmios JSON encoded once."""

    height: int
    slot: int
    id: bytes
    ancestor: bytes | None
    transactions: tuple[ValidatedTransaction, ...]
    json: bytes = field(repr=False)

    @property
    def point(self) -> Any:
        return encode.point(self.slot, self.id)

    @property
    def tip(self) -> Any:
        return encode.tip(self.slot, self.id, self.height)


@dataclass(frozen=True)
class _Undo:
    spent: tuple[tuple[TransactionInput, TransactionOutput], ...]
    created: tuple[TransactionInput, ...]


Step = tuple[Literal["forward"], Block] | tuple[Literal["backward"], Block | None]


class ChainJournal(Protocol):
    """Where the chain reports what it makes permanent (a state directory keeps it across restarts)."""

    def forged(self, block: Block) -> None: ...

    def rolled_back(self, blocks: Sequence[Block], forks: int) -> None:
        """The chain now ends at `blocks[-1]` (the whole current chain is given); `forks` rollbacks so far."""


class IntersectionNotFound(Exception):
    """None of the points offered to `find_intersection` is on the current chain."""


class PointUnknown(Exception):
    """A point is not on the current chain, or deeper than the chain keeps undo information for."""


def dumps(value: Any) -> bytes:
    """JSON bytes; falls back to the standard library for integers beyond 64 bits."""
    try:
        return orjson.dumps(value)
    except TypeError:
        import json

        return json.dumps(value, separators=(",", ":")).encode()


class Chain:
    """The mutable state of the devnet: one current chain, a mempool and a slot clock."""

    def __init__(
        self,
        params: ProtocolParameters,
        evaluator: PlutusEvaluator | None,
        faucet: Faucet,
        genesis_funds: Mapping[str, int] | None = None,
        failing_scripts: Literal["collateral", "reject"] = "reject",
        security_parameter: int = SECURITY_PARAMETER,
        mainnet: bool = False,
    ) -> None:
        self.params = params
        self.mainnet = mainnet
        """Network id 1: outputs must pay mainnet addresses (the mainnet profile)."""
        self.evaluator = evaluator
        self.faucet = faucet
        self.failing_scripts = failing_scripts
        self.security_parameter = security_parameter
        self.issuer = encode.block_issuer(blake2b_256(b"block producer" + bytes(faucet.signing_key.payload)))
        """The block producer's keys, derived from the faucet's key: the same for the life of a chain."""
        funds = {str(Address.from_primitive(a)): lovelace for a, lovelace in (genesis_funds or {}).items()}
        faucet_address = str(faucet.address)
        funds[faucet_address] = funds.get(faucet_address, 0) + FAUCET_FUNDS
        self.genesis_funds = funds
        """Genesis lovelace by bech32 address (the faucet's included)."""
        self.genesis_utxo: dict[TransactionInput, TransactionOutput] = {}
        for bech32, lovelace in funds.items():
            address = Address.from_primitive(bech32)
            self.genesis_utxo[genesis_input(address)] = TransactionOutput(address, lovelace)
        self.utxo: dict[TransactionInput, TransactionOutput] = dict(self.genesis_utxo)
        self.slot = 0
        self.blocks: list[Block] = []
        self._undo: list[_Undo] = []
        self._position: dict[bytes, int] = {}
        self._known: dict[bytes, Block] = {}
        self._forks = 0
        self.mempool: list[ValidatedTransaction] = []
        self._pending_utxo: dict[TransactionInput, TransactionOutput] = dict(self.utxo)
        self.listeners: list[Callable[[], None]] = []
        self._faucet_change: TransactionInput | None = None
        self.journal: ChainJournal | None = None

    def restore(self, blocks: Sequence[Block], forks: int) -> None:
        """Put back a chain kept in a state directory (each block as it was forged; nothing re-validated).

        The transactions were validated when first accepted; applying their recorded effects (which side
        they spent) gives back the same UTxO set, and the blocks keep their ids and JSON.
        """
        if self.blocks:
            raise ValueError("restore needs a chain without blocks")
        for block in blocks:
            included = block.transactions
            spent = [(t, self.utxo[t]) for tx in included for t in tx.consumed if t in self.utxo]
            for tx in included:
                _apply(self.utxo, tx)
            self.blocks.append(block)
            self._undo.append(_Undo(tuple(spent), tuple(t for tx in included for t, _ in tx.produced)))
            self._position[block.id] = len(self.blocks) - 1
            self._known[block.id] = block
        self._forks = forks
        tip = self.tip
        self.slot = max(self.slot, tip.slot if tip is not None else 0)
        self._recompute_pending()

    # --- reading ------------------------------------------------------------------------------------

    @property
    def tip(self) -> Block | None:
        return self.blocks[-1] if self.blocks else None

    def tip_json(self) -> Any:
        tip = self.tip
        return tip.tip if tip is not None else encode.ORIGIN

    def point_json(self) -> Any:
        tip = self.tip
        return tip.point if tip is not None else encode.ORIGIN

    def block_by_id(self, block_id: bytes) -> Block | None:
        return self._known.get(block_id)

    def on_chain(self, block_id: bytes) -> bool:
        return block_id in self._position

    def view(self, utxo: Mapping[TransactionInput, TransactionOutput] | None = None) -> LedgerView:
        return LedgerView(
            utxo=self._pending_utxo if utxo is None else utxo,
            slot=self.slot,
            params=self.params,
            evaluator=self.evaluator,
            failing_scripts=self.failing_scripts,
            mainnet=self.mainnet,
        )

    def utxo_at(self, block_id: bytes | None) -> dict[TransactionInput, TransactionOutput]:
        """The UTxO set right after block `block_id` (None: genesis), if it is on the chain and recent."""
        target = -1 if block_id is None else self._position.get(block_id)
        if target is None:
            raise PointUnknown("the point is not on the current chain")
        if len(self.blocks) - 1 - target > self.security_parameter:
            raise PointUnknown(f"the point is more than k={self.security_parameter} blocks deep")
        utxo = dict(self.utxo)
        for undo in reversed(self._undo[target + 1 :]):
            for txin in undo.created:
                utxo.pop(txin, None)
            utxo.update(undo.spent)
        return utxo

    def find_intersection(self, points: Sequence[tuple[int, bytes] | None]) -> Block | None:
        """The first of `points` on the current chain (None: origin). Raises IntersectionNotFound."""
        for candidate in points:
            if candidate is None:
                return None
            slot, block_id = candidate
            block = self._known.get(block_id)
            if block is not None and block.slot == slot and self.on_chain(block_id):
                return block
        raise IntersectionNotFound

    def next_step(self, cursor: bytes | None) -> Step | None:
        """What a follower whose last block is `cursor` receives next; None when it is at the tip."""
        if cursor is not None and not self.on_chain(cursor):
            ancestor = self._known[cursor].ancestor
            while ancestor is not None and not self.on_chain(ancestor):
                ancestor = self._known[ancestor].ancestor
            return ("backward", None if ancestor is None else self._known[ancestor])
        position = -1 if cursor is None else self._position[cursor]
        if position + 1 < len(self.blocks):
            return ("forward", self.blocks[position + 1])
        return None

    def has_pending(self, tx_id: bytes) -> bool:
        return any(tx.id == tx_id for tx in self.mempool)

    # --- changing -----------------------------------------------------------------------------------

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def submit(
        self, decoded: DecodedTransaction, runs: tuple[ScriptRun, ...] | None = None
    ) -> ValidatedTransaction | LedgerError:
        """Validate against the mempool's view at the current slot and queue for the next block.

        `runs` are the transaction's script results when computed ahead (off the event loop, by
        `devnet.evaluation.run_for_submission` over this chain's view)."""
        if decoded.id in {tx.id for tx in self.mempool}:
            return LedgerError(
                3117,
                "The transaction is already in the mempool; its inputs are taken.",
                {
                    "unknownOutputReferences": [
                        encode.output_reference(t) for t in decoded.tx.transaction_body.inputs
                    ]
                },
            )
        view = self.view() if runs is None else replace(self.view(), known_runs={decoded.id: runs})
        result = validate_transaction(view, decoded)
        if isinstance(result, ValidatedTransaction):
            self.mempool.append(result)
            _apply(self._pending_utxo, result)
            self._changed()
        return result

    def evaluate(
        self, decoded: DecodedTransaction, additional: Mapping[TransactionInput, TransactionOutput]
    ) -> list[ScriptRun] | LedgerError:
        """`evaluateTransaction` as Ogmios (>= 6.2) does it (see `prepare_evaluation`), all at once."""
        prepared = self.prepare_evaluation(decoded, additional)
        return prepared if isinstance(prepared, LedgerError) else run_prepared(decoded, prepared)

    def prepare_evaluation(
        self, decoded: DecodedTransaction, additional: Mapping[TransactionInput, TransactionOutput]
    ) -> Prepared | LedgerError:
        """`evaluateTransaction`'s view: the outputs of mempool transactions are added to the caller's
        `additional` entries (the caller's win), so a transaction spending an output still in the
        mempool evaluates; the ledger's UTxO is the tip's. The scripts then run in `run_prepared`."""
        from_mempool: dict[TransactionInput, TransactionOutput] = {}
        for pending in self.mempool:
            for txin in pending.consumed:
                from_mempool.pop(txin, None)
            from_mempool.update(pending.produced)
        return prepare_evaluation(self.view(self.utxo), decoded, {**from_mempool, **additional})

    def advance(self, slots: int) -> None:
        """Move the slot clock forward (never backward)."""
        if slots < 0:
            raise ValueError("the slot clock only moves forward")
        self.slot += slots
        self._changed()

    def produce_block(self) -> Block:
        """Forge a block at the current slot (one slot after the tip at least) from the mempool."""
        tip = self.tip
        if tip is not None and self.slot <= tip.slot:
            self.slot = tip.slot + 1
        utxo = dict(self.utxo)
        included: list[ValidatedTransaction] = []
        kept: list[ValidatedTransaction] = []
        size = 0
        units = ExUnits(0, 0)
        view = LedgerView(
            utxo,
            self.slot,
            self.params,
            self.evaluator,
            self.failing_scripts,
            self._known_runs(),
            self.mainnet,
        )
        for position, pending in enumerate(self.mempool):
            tx_units = sum((r.budget for r in pending.script_runs), ExUnits(0, 0))
            if size + pending.decoded.size > self.params.max_block_body_size or not (
                units + tx_units
            ).fits_in(self.params.max_execution_units_per_block):
                # A node forges a prefix of its mempool: the rest (descendants included) waits.
                kept = self.mempool[position:]
                break
            revalidated = validate_transaction(view, pending.decoded)
            if isinstance(revalidated, LedgerError):
                continue  # expired or conflicting since it was accepted: dropped, as a node does
            _apply(utxo, revalidated)
            included.append(revalidated)
            size += pending.decoded.size
            units = units + tx_units
        undo = _Undo(
            spent=tuple((t, self.utxo[t]) for tx in included for t in tx.consumed if t in self.utxo),
            created=tuple(t for tx in included for t, _ in tx.produced),
        )
        height = (tip.height if tip is not None else 0) + 1
        ancestor = tip.id if tip is not None else None
        body_hash = blake2b_256(b"".join(tx.id for tx in included))
        block_id = blake2b_256(cbor2.dumps([height, self.slot, ancestor or b"", body_hash, self._forks]))
        transactions = [encode.transaction(tx.decoded, tx.spends) for tx in included]
        body_size = block_body_size([(tx.decoded, tx.spends == "inputs") for tx in included])
        json_bytes = dumps(
            encode.block(height, self.slot, block_id, ancestor, body_size, transactions, self.issuer)
        )
        block = Block(height, self.slot, block_id, ancestor, tuple(included), json_bytes)
        self.utxo = utxo
        self.blocks.append(block)
        self._undo.append(undo)
        self._position[block_id] = len(self.blocks) - 1
        self._known[block_id] = block
        self.mempool = kept
        self._recompute_pending()
        if self.journal is not None:
            self.journal.forged(block)
        self._changed()
        return block

    def rollback(self, count: int, *, resubmit: bool = True) -> list[Block]:
        """Drop the last `count` blocks; the chain continues on a fork from the new tip.

        With `resubmit`, their transactions go back to the mempool (ahead of newer ones), as peers
        re-propagate them after a real fork; those still valid land in the fork's next blocks.
        """
        if count < 0 or count > len(self.blocks):
            raise ValueError(f"can roll back between 0 and {len(self.blocks)} blocks, not {count}")
        if count > self.security_parameter:
            raise ValueError(f"cannot roll back more than k={self.security_parameter} blocks")
        removed: list[Block] = []
        for _ in range(count):
            block = self.blocks.pop()
            undo = self._undo.pop()
            del self._position[block.id]
            for txin in undo.created:
                self.utxo.pop(txin, None)
            self.utxo.update(undo.spent)
            removed.append(block)
        if count:
            self._forks += 1
            if self.journal is not None:
                self.journal.rolled_back(self.blocks, self._forks)
        if resubmit:
            returned = [tx for block in reversed(removed) for tx in block.transactions]
            self.mempool = returned + self.mempool
        self._recompute_pending()
        self._changed()
        return removed

    def fund(self, address: Address, lovelace: int, assets: Mapping[bytes, int]) -> ValidatedTransaction:
        """Queue a faucet transaction paying `address`; raises FaucetError or ValueError."""
        source = self._faucet_source()
        raw = funding_transaction(self.faucet, source, address, lovelace, assets, self.params)
        result = self.submit(decode_transaction(raw))
        if isinstance(result, LedgerError):
            raise ValueError(f"the faucet transaction was rejected: {result.code} {result.message}")
        self._faucet_change = result.produced[-1][0]
        return result

    def _faucet_source(self) -> tuple[TransactionInput, TransactionOutput]:
        """The faucet's latest change output, or (after a rollback) its largest plain UTxO."""
        change = self._faucet_change
        if change is not None and change in self._pending_utxo:
            return change, self._pending_utxo[change]
        wanted = self.faucet.address_bytes
        return max(
            (
                (t, o)
                for t, o in self._pending_utxo.items()
                if o.script is None and bytes(o.address) == wanted
            ),
            key=lambda entry: _lovelace(entry[1]),
        )

    def _known_runs(self) -> dict[bytes, tuple[ScriptRun, ...]]:
        return {tx.id: tx.script_runs for tx in self.mempool if tx.script_runs}

    def _recompute_pending(self) -> None:
        self._pending_utxo = dict(self.utxo)
        valid: list[ValidatedTransaction] = []
        view = LedgerView(
            self._pending_utxo,
            self.slot,
            self.params,
            self.evaluator,
            self.failing_scripts,
            self._known_runs(),
            self.mainnet,
        )
        for pending in self.mempool:
            revalidated = validate_transaction(view, pending.decoded)
            if isinstance(revalidated, ValidatedTransaction):
                _apply(self._pending_utxo, revalidated)
                valid.append(revalidated)
        self.mempool = valid


def _apply(utxo: dict[TransactionInput, TransactionOutput], tx: ValidatedTransaction) -> None:
    for txin in tx.consumed:
        utxo.pop(txin, None)
    utxo.update(tx.produced)


def _lovelace(output: TransactionOutput) -> int:
    return output.amount if isinstance(output.amount, int) else output.amount.coin


def entries_at(
    utxo: Mapping[TransactionInput, TransactionOutput], addresses: Iterable[Address]
) -> list[tuple[TransactionInput, TransactionOutput]]:
    wanted = {bytes(a) for a in addresses}
    return [(t, o) for t, o in utxo.items() if bytes(o.address) in wanted]
