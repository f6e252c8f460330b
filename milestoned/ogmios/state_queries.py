"""Typed answers of Ogmios' state queries: the ledger state (protocol parameters, era summaries), the
network (genesis configuration), mempool monitoring and script evaluation.

Why apart from `model`: `model` holds what chain sync and transactions carry, typed thousands of times
per block with `fast_init`; these are the answers of one-off queries a transaction builder or a doctor
asks for. The conventions are `model`'s (its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from milestoned.ogmios.model import ExecutionUnits, PointOrOrigin, ProtocolVersion, RedeemerPointer


@dataclass(frozen=True, slots=True)
class ExecutionPrices:
    """Lovelace per unit of memory and of CPU."""

    memory: Fraction
    cpu: Fraction


@dataclass(frozen=True, slots=True)
class ReferenceScriptsFee:
    """Conway's tiered reference-script fee: `base` lovelace/byte per `range` bytes, × `multiplier`."""

    base: float
    range: int
    multiplier: float


@dataclass(frozen=True, slots=True)
class ProtocolParameters:
    """The parameters a transaction builder needs, typed, whatever the server version.

    v6 calls the per-transaction reference-script limit `maxReferenceScriptsSize`, v7 calls it
    `maxReferenceScriptsSizePerTransaction`; both land in `max_reference_scripts_size`. Everything else
    (governance thresholds…) is in `raw`.
    """

    min_fee_coefficient: int
    min_fee_constant: int
    min_utxo_deposit_coefficient: int
    min_utxo_deposit_constant: int
    max_block_body_size: int
    max_block_header_size: int
    max_transaction_size: int | None
    max_value_size: int | None
    stake_credential_deposit: int
    stake_pool_deposit: int
    stake_pool_retirement_epoch_bound: int
    desired_number_of_stake_pools: int
    stake_pool_pledge_influence: Fraction
    monetary_expansion: Fraction
    treasury_expansion: Fraction
    min_stake_pool_cost: int
    collateral_percentage: int | None
    max_collateral_inputs: int | None
    plutus_cost_models: Mapping[str, tuple[int, ...]]
    script_execution_prices: ExecutionPrices | None
    max_execution_units_per_transaction: ExecutionUnits | None
    max_execution_units_per_block: ExecutionUnits | None
    max_reference_scripts_size: int | None
    max_reference_scripts_size_per_block: int | None
    min_fee_reference_scripts: ReferenceScriptsFee | None
    governance_action_deposit: int | None
    delegate_representative_deposit: int | None
    version: ProtocolVersion
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bound:
    """An era boundary; `time_seconds` is relative to the network start (negative in some vectors)."""

    time_seconds: Fraction
    slot: int
    epoch: int


@dataclass(frozen=True, slots=True)
class EraSummary:
    """One era of the hard-fork history. `end` is None for the current, unbounded era."""

    start: Bound
    end: Bound | None
    epoch_length: int
    slot_length_ms: Fraction
    safe_zone: int | None

    def contains_slot(self, slot: int) -> bool:
        return slot >= self.start.slot and (self.end is None or slot < self.end.slot)


@dataclass(frozen=True, slots=True)
class LedgerStateAcquired:
    point: PointOrOrigin


@dataclass(frozen=True, slots=True)
class GenesisConfiguration:
    """`queryNetwork/genesisConfiguration`. Shelley fields are None for other eras; `raw` has everything."""

    era: str
    network_magic: int | None = None
    network: str | None = None
    start_time: datetime | None = None
    security_parameter: int | None = None
    active_slots_coefficient: Fraction | None = None
    epoch_length: int | None = None
    slot_length_ms: Fraction | None = None
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScriptBudget:
    """One line of an `evaluateTransaction` answer: the budget a script needs."""

    validator: RedeemerPointer
    budget: ExecutionUnits


@dataclass(frozen=True, slots=True)
class MempoolSnapshot:
    slot: int


@dataclass(frozen=True, slots=True)
class MempoolSizes:
    max_capacity_bytes: int
    current_size_bytes: int
    transactions: int
