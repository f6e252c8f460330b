"""Conway protocol parameters and network constants of the devnet, in one place.

WHY one module: the ledger rules (fees, min-UTxO, limits, collateral), the Ogmios encoders
(`queryLedgerState/protocolParameters`, genesis configurations) and the script-integrity hash must all
read the *same* numbers, or a transaction built from what the devnet advertises would be rejected by
what the devnet checks. The values are those of Cardano mainnet under protocol version 10 (Conway);
the Plutus cost models are the ones `uplc` ships and evaluates with, so the budgets the devnet
reports are the budgets its evaluator measures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import uplc

NETWORK_MAGIC = 42
"""Testnet magic of the devnet (the value local test clusters conventionally use)."""

SECURITY_PARAMETER = 2160
"""k: the deepest rollback the devnet allows, as on mainnet."""

ACTIVE_SLOTS_COEFFICIENT = Fraction(1, 20)
EPOCH_LENGTH = 1_000
"""Slots per epoch. Shorter than mainnet's 432,000 so that epochs pass on a devnet; a multiple of 1,000
so that every epoch boundary falls on a whole second, as era summaries require."""

FIRST_SLOT = EPOCH_LENGTH
"""The devnet's clock starts in epoch 1, one epoch after the network start time: ogmios-python (and
so pycardano's Ogmios backend) cannot read an epoch or height of 0, and public test networks never
show one either."""

SAFE_ZONE = 3 * SECURITY_PARAMETER * ACTIVE_SLOTS_COEFFICIENT.denominator
"""3k/f slots: how far ahead of the tip the era summary's end (the forecast horizon) lies."""

ERAS = ("byron", "shelley", "allegra", "mary", "alonzo", "babbage", "conway")
"""Every era the devnet reports in `eraSummaries`. All but Conway are empty (they start and end at
slot 0), which is how a test cluster forked into Conway at genesis looks; clients count summaries to
find the current era."""

_COST_MODEL_FILE = Path(uplc.__file__).parent / "cost_model_files" / "2024-07-30" / "cost-model-merged.json"


@cache
def plutus_cost_models() -> dict[str, tuple[int, ...]]:
    """The cost models as Ogmios publishes them: `plutus:vN` -> parameter values in ledger order.

    The file that `uplc` ships keeps the ledger's parameter order for every language (alphabetical
    for V1/V2, the Conway order for V3's 297 parameters), which is the order the script-integrity
    hash commits to.
    """
    named: dict[str, dict[str, int]] = json.loads(_COST_MODEL_FILE.read_text())
    return {
        "plutus:v1": tuple(named["PlutusV1"].values()),
        "plutus:v2": tuple(named["PlutusV2"].values()),
        "plutus:v3": tuple(named["PlutusV3"].values()),
    }


@dataclass(frozen=True)
class ExUnits:
    """An execution budget: memory units and CPU steps."""

    memory: int
    cpu: int

    def fits_in(self, other: ExUnits) -> bool:
        return self.memory <= other.memory and self.cpu <= other.cpu

    def __add__(self, other: ExUnits) -> ExUnits:
        return ExUnits(self.memory + other.memory, self.cpu + other.cpu)


@dataclass(frozen=True)
class ProtocolParameters:
    """The subset of Conway protocol parameters the devnet's ledger enforces, plus the rest it reports."""

    min_fee_coefficient: int = 44
    min_fee_constant: int = 155_381
    min_fee_ref_script_base: int = 15
    min_fee_ref_script_range: int = 25_600
    min_fee_ref_script_multiplier: Fraction = Fraction(6, 5)
    min_utxo_deposit_coefficient: int = 4_310
    max_block_body_size: int = 90_112
    max_block_header_size: int = 1_100
    max_transaction_size: int = 16_384
    max_value_size: int = 5_000
    max_reference_scripts_size: int = 204_800
    stake_credential_deposit: int = 2_000_000
    stake_pool_deposit: int = 500_000_000
    stake_pool_retirement_epoch_bound: int = 18
    desired_number_of_stake_pools: int = 500
    stake_pool_pledge_influence: Fraction = Fraction(3, 10)
    monetary_expansion: Fraction = Fraction(3, 1000)
    treasury_expansion: Fraction = Fraction(1, 5)
    min_stake_pool_cost: int = 170_000_000
    collateral_percentage: int = 150
    max_collateral_inputs: int = 3
    price_memory: Fraction = Fraction(577, 10_000)
    price_cpu: Fraction = Fraction(721, 10_000_000)
    max_execution_units_per_transaction: ExUnits = ExUnits(14_000_000, 10_000_000_000)
    max_execution_units_per_block: ExUnits = ExUnits(62_000_000, 20_000_000_000)
    governance_action_lifetime: int = 6
    governance_action_deposit: int = 100_000_000_000
    delegate_representative_deposit: int = 500_000_000
    delegate_representative_max_idle_time: int = 20
    constitutional_committee_min_size: int = 7
    constitutional_committee_max_term_length: int = 146
    protocol_version: tuple[int, int] = (10, 0)
    cost_models: dict[str, tuple[int, ...]] = field(default_factory=plutus_cost_models)

    def script_fee(self, units: ExUnits) -> int:
        """Fee for an execution budget: ceil(price_mem * mem + price_cpu * cpu), in exact arithmetic."""
        exact = self.price_memory * units.memory + self.price_cpu * units.cpu
        return -((-exact.numerator) // exact.denominator)

    def reference_scripts_fee(self, size: int) -> int:
        """Conway's tiered price for reference scripts: each `range` bytes cost `multiplier` times more."""
        total = Fraction(0)
        price = Fraction(self.min_fee_ref_script_base)
        remaining = size
        while remaining >= self.min_fee_ref_script_range:
            total += self.min_fee_ref_script_range * price
            price *= self.min_fee_ref_script_multiplier
            remaining -= self.min_fee_ref_script_range
        total += remaining * price
        return total.numerator // total.denominator

    def minimum_fee(self, tx_size: int, units: ExUnits, reference_scripts_size: int) -> int:
        """The ledger's minimum fee: size-linear part, script execution and reference scripts."""
        return (
            self.min_fee_coefficient * tx_size
            + self.min_fee_constant
            + self.script_fee(units)
            + self.reference_scripts_fee(reference_scripts_size)
        )

    def minimum_lovelace(self, serialized_output_size: int) -> int:
        """Babbage/Conway min-UTxO: (160 + size of the serialized output) * coins per byte."""
        return (160 + serialized_output_size) * self.min_utxo_deposit_coefficient


MAINNET_CONWAY = ProtocolParameters()
