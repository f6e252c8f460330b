"""The chain as the transaction builders see it: our Ogmios client, plus a pycardano snapshot of it.

Why two layers. pycardano's `ChainContext` is synchronous (`context.utxos(address)` returns a list),
while our Ogmios client is asyncio and shares its event loop with chain sync, the socket server and
the scheduler. Calling the loop from inside a synchronous pycardano call would block the very loop
that must answer it (a deadlock in the daemon), and a second connection per call would defeat the
parameter cache. So:

- `OgmiosChain` is the async shell: every query goes through `OgmiosClient`; protocol parameters are
  cached and re-read only when the epoch changes (they can only change at an epoch boundary); era
  summaries and the start time give chain time (`ChainTime`), never the local clock.
- `SnapshotChainContext` is a pycardano `ChainContext` over values fetched up front
  (`await chain.snapshot([addresses])`): protocol and genesis parameters, the tip, and the UTxOs of
  the addresses the builder will spend from. Builders work on a snapshot, which is also what makes a
  build reproducible (the same snapshot gives the same transaction). Evaluation and submission are
  not part of the snapshot: they go through `OgmiosChain` (`submit`; execution units are measured
  locally or by the node's `evaluate`, as `OgmiosChain.evaluation` says: `txbuilder.evaluation`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from pycardano import (
    Address,
    ChainContext,
    GenesisParameters,
    Network,
    Transaction,
    TransactionInput,
    TransactionOutput,
    UTxO,
)
from pycardano import ProtocolParameters as PycardanoParameters

from milestoned.domain.network import CardanoNetwork
from milestoned.ogmios import model, state_queries
from milestoned.ogmios.chaintime import slot_to_time, time_to_slot
from milestoned.ogmios.client import OgmiosClient
from milestoned.txbuilder.utxo_codec import input_to_reference, utxo_to_ogmios, utxo_to_pycardano

if TYPE_CHECKING:
    from milestoned.contracts.script_context import SlotConfig

EPOCH_RECHECK_SECONDS = 30.0
"""How long cached protocol parameters are trusted before the epoch is asked again."""


@dataclass(frozen=True)
class ChainTime:
    """The chain's notion of now: the tip's slot and the slot ↔ POSIX-ms conversion of this network."""

    tip_slot: int
    summaries: tuple[state_queries.EraSummary, ...]
    start_time: datetime

    def slot_to_ms(self, slot: int) -> int:
        """POSIX milliseconds at which `slot` begins."""
        moment = slot_to_time(slot, self.summaries, self.start_time)
        return round(moment.timestamp() * 1000)

    def first_slot_at_or_after(self, posix_ms: int) -> int:
        """The first slot whose start is at or after `posix_ms` (a validity start meeting a time bound)."""
        moment = datetime.fromtimestamp(posix_ms / 1000, UTC)
        slot = time_to_slot(moment, self.summaries, self.start_time)
        return slot if self.slot_to_ms(slot) >= posix_ms else slot + 1

    @property
    def now_ms(self) -> int:
        """Chain time: the start of the tip's slot."""
        return self.slot_to_ms(self.tip_slot)

    def slot_config(self) -> SlotConfig:
        """The slot arithmetic of the tip's era, as a script context needs it (validity ranges in POSIX
        time): a transaction built now has its validity interval in this era."""
        from milestoned.contracts.script_context import SlotConfig

        era = next(e for e in self.summaries if e.contains_slot(self.tip_slot))
        if era.slot_length_ms.denominator != 1:
            raise ValueError(f"a slot length of {era.slot_length_ms} ms is not a whole number of ms")
        start = era.start.slot
        return SlotConfig(self.slot_to_ms(start), start, int(era.slot_length_ms))

    def slots_for(self, milliseconds: int) -> int:
        """How many slots of the tip's era span `milliseconds` (at least 1)."""
        era = next(e for e in self.summaries if e.contains_slot(self.tip_slot))
        return max(1, int(Fraction(milliseconds) / era.slot_length_ms))


def to_pycardano_parameters(params: state_queries.ProtocolParameters) -> PycardanoParameters:
    """Our typed parameters as pycardano's (for `min_lovelace_post_alonzo` and other pycardano helpers)."""
    prices = params.script_execution_prices
    per_tx = params.max_execution_units_per_transaction
    per_block = params.max_execution_units_per_block
    ref_fee = params.min_fee_reference_scripts
    return PycardanoParameters(
        min_fee_constant=params.min_fee_constant,
        min_fee_coefficient=params.min_fee_coefficient,
        max_block_size=params.max_block_body_size,
        max_tx_size=params.max_transaction_size or 16_384,
        max_block_header_size=params.max_block_header_size,
        key_deposit=params.stake_credential_deposit,
        pool_deposit=params.stake_pool_deposit,
        pool_influence=params.stake_pool_pledge_influence,
        monetary_expansion=params.monetary_expansion,
        treasury_expansion=params.treasury_expansion,
        decentralization_param=Fraction(0),
        extra_entropy="",
        protocol_major_version=params.version.major,
        protocol_minor_version=params.version.minor,
        min_utxo=params.min_utxo_deposit_constant,
        min_pool_cost=params.min_stake_pool_cost,
        price_mem=prices.memory if prices else Fraction(0),
        price_step=prices.cpu if prices else Fraction(0),
        max_tx_ex_mem=per_tx.memory if per_tx else 0,
        max_tx_ex_steps=per_tx.cpu if per_tx else 0,
        max_block_ex_mem=per_block.memory if per_block else 0,
        max_block_ex_steps=per_block.cpu if per_block else 0,
        max_val_size=params.max_value_size or 5_000,
        collateral_percent=params.collateral_percentage or 150,
        max_collateral_inputs=params.max_collateral_inputs or 3,
        coins_per_utxo_word=params.min_utxo_deposit_coefficient * 8,
        coins_per_utxo_byte=params.min_utxo_deposit_coefficient,
        cost_models={
            "PlutusV" + language.rsplit("v", 1)[-1]: dict(enumerate(costs))
            for language, costs in params.plutus_cost_models.items()
        },
        maximum_reference_scripts_size=(
            {"bytes": params.max_reference_scripts_size} if params.max_reference_scripts_size else None
        ),
        min_fee_reference_scripts=(
            {"base": ref_fee.base, "range": ref_fee.range, "multiplier": ref_fee.multiplier}
            if ref_fee
            else None
        ),
    )


@dataclass
class SnapshotChainContext(ChainContext):
    """A read-only pycardano `ChainContext` over what `OgmiosChain.snapshot` fetched."""

    parameters: state_queries.ProtocolParameters
    chain_time: ChainTime
    current_epoch: int
    cardano_network: CardanoNetwork
    utxo_by_address: dict[str, list[UTxO]] = field(default_factory=dict)
    genesis: state_queries.GenesisConfiguration | None = None
    """The Shelley genesis configuration, when the snapshot fetched it (the defaults are mainnet's)."""

    @property
    def protocol_param(self) -> PycardanoParameters:
        return to_pycardano_parameters(self.parameters)

    @property
    def genesis_param(self) -> GenesisParameters:
        era = next(e for e in self.chain_time.summaries if e.contains_slot(self.chain_time.tip_slot))
        genesis = self.genesis
        raw = dict(genesis.raw) if genesis is not None else {}
        slot_length_ms = era.slot_length_ms
        return GenesisParameters(
            active_slots_coefficient=(genesis.active_slots_coefficient if genesis else None)
            or Fraction(1, 20),
            update_quorum=int(raw.get("updateQuorum", 5)),
            max_lovelace_supply=int(raw.get("maxLovelaceSupply", 45_000_000_000_000_000)),
            network_magic=(genesis.network_magic if genesis else None) or 0,
            epoch_length=era.epoch_length,
            system_start=int(self.chain_time.start_time.timestamp()),
            slots_per_kes_period=int(raw.get("slotsPerKesPeriod", 129_600)),
            # pycardano counts whole seconds; Ogmios v6's pycardano backend reports milliseconds for
            # sub-second slots, so do we (the devnet's 0.1 s slots are 100 there too)
            slot_length=int(slot_length_ms / 1000) if slot_length_ms % 1000 == 0 else int(slot_length_ms),
            max_kes_evolutions=int(raw.get("maxKesEvolutions", 62)),
            security_param=(genesis.security_parameter if genesis else None) or 2_160,
        )

    @property
    def network(self) -> Network:
        return self.cardano_network.pycardano_network

    @property
    def epoch(self) -> int:
        return self.current_epoch

    @property
    def last_block_slot(self) -> int:
        return self.chain_time.tip_slot

    def _utxos(self, address: str) -> list[UTxO]:
        if address not in self.utxo_by_address:
            raise KeyError(
                f"{address} was not part of this snapshot; pass it to OgmiosChain.snapshot() to "
                "read its UTxOs"
            )
        return list(self.utxo_by_address[address])

    def submit_tx_cbor(self, cbor: bytes | str) -> None:
        raise NotImplementedError("a snapshot cannot submit; use `await OgmiosChain.submit(tx)`")


class OgmiosChain:
    """The builders' async access to the chain, through our `OgmiosClient` (one connection)."""

    def __init__(
        self,
        client: OgmiosClient,
        network: CardanoNetwork,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        evaluation: Literal["auto", "local", "node"] = "auto",
    ) -> None:
        self.client = client
        self.network = network
        self.evaluation = evaluation
        """Where execution units are measured (`txbuilder.evaluation`): auto, local or node."""
        self.local_evaluations = 0
        """How many transactions were evaluated here (the no-round-trip path is testable)."""
        self.last_chain_time: ChainTime | None = None
        self._monotonic = monotonic
        self._parameters: state_queries.ProtocolParameters | None = None
        self._parameters_epoch: int | None = None
        self._epoch_checked_at: float | None = None
        self._start_time: datetime | None = None
        self._genesis: state_queries.GenesisConfiguration | None = None
        self.parameter_queries = 0
        """How many times the protocol parameters were actually fetched (the cache's effect is testable)."""

    async def epoch(self) -> int:
        return await self.client.epoch()

    async def protocol_parameters(self) -> state_queries.ProtocolParameters:
        """Cached; re-read when the epoch changed (checked at most every EPOCH_RECHECK_SECONDS)."""
        now = self._monotonic()
        fresh = self._epoch_checked_at is not None and now - self._epoch_checked_at < EPOCH_RECHECK_SECONDS
        if self._parameters is not None and fresh:
            return self._parameters
        epoch = await self.client.epoch()
        self._epoch_checked_at = now
        if self._parameters is None or epoch != self._parameters_epoch:
            self._parameters = await self.client.protocol_parameters()
            self._parameters_epoch = epoch
            self.parameter_queries += 1
        return self._parameters

    async def chain_time(self) -> ChainTime:
        """The tip and the slot/time conversion. Era summaries are re-read each time (their end moves)."""
        if self._start_time is None:
            self._start_time = await self.client.start_time()
        tip = await self.client.ledger_tip()
        summaries = await self.client.era_summaries()
        tip_slot = 0 if tip == model.ORIGIN else tip.slot
        self.last_chain_time = ChainTime(tip_slot, tuple(summaries), self._start_time)
        return self.last_chain_time

    async def utxos_at(self, addresses: Iterable[Address | str]) -> list[UTxO]:
        wanted = sorted({str(a) for a in addresses})
        if not wanted:
            return []
        return [utxo_to_pycardano(u) for u in await self.client.utxo_by_addresses(wanted)]

    async def utxos_by_inputs(
        self, inputs: Iterable[TransactionInput]
    ) -> dict[TransactionInput, TransactionOutput]:
        """Those of `inputs` that are unspent on chain (the ledger tip, not the mempool)."""
        refs = [input_to_reference(i) for i in dict.fromkeys(inputs)]
        if not refs:
            return {}
        found = await self.client.utxo_by_output_references(refs)
        return {u.input: u.output for u in map(utxo_to_pycardano, found)}

    async def snapshot(self, addresses: Iterable[Address | str]) -> SnapshotChainContext:
        """Parameters, chain time and the UTxOs of `addresses`, fetched now, as a pycardano context."""
        parameters = await self.protocol_parameters()
        chain_time = await self.chain_time()
        epoch = self._parameters_epoch if self._parameters_epoch is not None else await self.epoch()
        if self._genesis is None:
            self._genesis = await self.client.genesis_configuration("shelley")
        by_address: dict[str, list[UTxO]] = {str(a): [] for a in addresses}
        for utxo in await self.utxos_at(by_address):
            by_address.setdefault(str(utxo.output.address), []).append(utxo)
        return SnapshotChainContext(parameters, chain_time, epoch, self.network, by_address, self._genesis)

    async def evaluate(
        self, tx: Transaction, unconfirmed: Mapping[TransactionInput, TransactionOutput] = {}
    ) -> tuple[state_queries.ScriptBudget, ...]:
        """Execution units of `tx`'s redeemers, by the node's evaluator (`evaluateTransaction`).

        `unconfirmed` are outputs of earlier, not yet confirmed transactions that `tx` spends or
        references (a chain of transactions); those already on chain are left out, as Ogmios refuses
        additional UTxO that overlaps the ledger's (3002).
        """
        extra: Sequence[model.Utxo] = ()
        if unconfirmed:
            on_chain = await self.utxos_by_inputs(unconfirmed)
            extra = [utxo_to_ogmios(i, o) for i, o in unconfirmed.items() if i not in on_chain]
        return await self.client.evaluate_transaction(tx.to_cbor_hex(), extra)

    async def submit(self, tx: Transaction) -> str:
        """Submit; returns the transaction id. Ledger rejections raise the client's `SubmissionError`s."""
        return await self.client.submit_transaction(tx.to_cbor_hex())
