"""The devnet's network: start time, slot length, eras and genesis configurations, in Ogmios JSON.

WHY separate from the chain: these answers depend only on constants chosen at start-up (start time,
slot length, genesis funds), never on blocks, and clients use them to convert slots to time. Keeping
them pure makes `slot <-> POSIX time` one formula used by the server, the evaluator and the tests.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from milestoned.devnet import encode
from milestoned.devnet.parameters import (
    ACTIVE_SLOTS_COEFFICIENT,
    EPOCH_LENGTH,
    ERAS,
    NETWORK_MAGIC,
    SECURITY_PARAMETER,
    ProtocolParameters,
)

_ZERO_HASH_28 = "00" * 28


BYRON_EPOCH_LENGTH = 21_600
BYRON_SLOT_LENGTH_MS = 20_000


@dataclass(frozen=True)
class Network:
    """Start time (whole seconds, UTC), era history and slot length: everything slot arithmetic needs.

    By default the devnet forks into Conway at its start (every era before it empty). A network
    profile (`milestoned.devnet.profiles`) gives the history of a public network instead: Byron's
    20-second slots for its first epochs, then the later eras' slots, each era from its own epoch.
    """

    start_time: datetime.datetime
    slot_length_ms: int
    epoch_length: int = EPOCH_LENGTH
    byron_epochs: int = 0
    era_start_epochs: tuple[int, ...] = (0,) * len(ERAS)
    network_magic: int = NETWORK_MAGIC
    security_parameter: int = SECURITY_PARAMETER
    mainnet: bool = False

    @property
    def start_time_ms(self) -> int:
        return int(self.start_time.timestamp() * 1000)

    @property
    def byron_slots(self) -> int:
        return self.byron_epochs * BYRON_EPOCH_LENGTH

    @property
    def shelley_start_ms(self) -> int:
        """When the first slot after Byron begins (the zero of the evaluator's slot arithmetic)."""
        return self.start_time_ms + self.byron_slots * BYRON_SLOT_LENGTH_MS

    def start_time_json(self) -> str:
        """UTC time without fractional seconds (ogmios-python cannot parse a fraction)."""
        return self.start_time.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def slot_to_posix_ms(self, slot: int) -> int:
        if slot < self.byron_slots:
            return self.start_time_ms + slot * BYRON_SLOT_LENGTH_MS
        return self.shelley_start_ms + (slot - self.byron_slots) * self.slot_length_ms

    def posix_ms_to_slot(self, posix_ms: float) -> int:
        """The slot that contains the moment `posix_ms` (before the start: slot 0)."""
        if posix_ms < self.shelley_start_ms:
            return max(0, int((posix_ms - self.start_time_ms) // BYRON_SLOT_LENGTH_MS))
        return self.byron_slots + int((posix_ms - self.shelley_start_ms) // self.slot_length_ms)

    def epoch_of(self, slot: int) -> int:
        if slot < self.byron_slots:
            return slot // BYRON_EPOCH_LENGTH
        return self.byron_epochs + (slot - self.byron_slots) // self.epoch_length

    def first_slot_of(self, epoch: int) -> int:
        if epoch < self.byron_epochs:
            return epoch * BYRON_EPOCH_LENGTH
        return self.byron_slots + (epoch - self.byron_epochs) * self.epoch_length

    def bound(self, slot: int) -> Any:
        return {
            "time": {"seconds": (self.slot_to_posix_ms(slot) - self.start_time_ms) // 1000},
            "slot": slot,
            "epoch": self.epoch_of(slot),
        }

    @property
    def safe_zone(self) -> int:
        return 3 * self.security_parameter * ACTIVE_SLOTS_COEFFICIENT.denominator

    def era_summaries(self, tip_slot: int) -> list[Any]:
        """One summary per era, each from the epoch it started in; Conway ends at the forecast horizon.

        Without a profile the earlier eras are empty (the devnet forks into Conway at its start, as a
        node whose genesis sets every hard fork at epoch 0 reports it). Every summary has an `end`
        (clients drop those without); Conway's is the first epoch boundary at least a safe zone (3k/f
        slots) after the tip, as the hard-fork combinator computes. Byron keeps Byron's parameters
        (10k-slot epochs of 20 seconds, a 2k safe zone), as a node does.
        """
        horizon_epoch = self.epoch_of(tip_slot + self.safe_zone - 1) + 1
        ends = [*self.era_start_epochs[1:], max(horizon_epoch, self.era_start_epochs[-1])]
        byron = {
            "epochLength": BYRON_EPOCH_LENGTH,
            "slotLength": {"milliseconds": BYRON_SLOT_LENGTH_MS},
            "safeZone": 2 * self.security_parameter,
        }
        later = {
            "epochLength": self.epoch_length,
            "slotLength": {"milliseconds": self.slot_length_ms},
            "safeZone": self.safe_zone,
        }
        return [
            {
                "start": self.bound(self.first_slot_of(start)),
                "end": self.bound(self.first_slot_of(end)),
                "parameters": byron if era == "byron" else later,
            }
            for era, start, end in zip(ERAS, self.era_start_epochs, ends, strict=True)
        ]

    def genesis_configuration(self, era: str, funds: Mapping[str, int], params: ProtocolParameters) -> Any:
        """`queryNetwork/genesisConfiguration` for byron, shelley, alonzo or conway."""
        if era == "byron":
            return {
                "era": "byron",
                "genesisKeyHashes": [],
                "genesisDelegations": {},
                "startTime": self.start_time_json(),
                "initialFunds": {},
                "initialVouchers": {},
                "securityParameter": self.security_parameter,
                "networkMagic": self.network_magic,
                "updatableParameters": {
                    "heavyDelegationThreshold": "3/10000",
                    "maxBlockBodySize": {"bytes": 2_000_000},
                    "maxBlockHeaderSize": {"bytes": 2_000_000},
                    "maxUpdateProposalSize": {"bytes": 700},
                    "maxTransactionSize": {"bytes": 4_096},
                    "multiPartyComputationThreshold": "1/50",
                    "scriptVersion": 0,
                    "slotDuration": BYRON_SLOT_LENGTH_MS if self.byron_epochs else self.slot_length_ms,
                    "unlockStakeEpoch": 18_446_744_073_709_551_615,
                    "updateProposalThreshold": "1/10",
                    "updateProposalTimeToLive": 10,
                    "updateVoteThreshold": "1/1000",
                    "softForkInitThreshold": "9/10",
                    "softForkMinThreshold": "3/5",
                    "softForkDecrementThreshold": "1/20",
                    "minFeeCoefficient": 44,
                    "minFeeConstant": encode.ada(155_381),
                },
            }
        if era == "shelley":
            return {
                "era": "shelley",
                "startTime": self.start_time_json(),
                "networkMagic": self.network_magic,
                "network": "mainnet" if self.mainnet else "testnet",
                "activeSlotsCoefficient": encode.ratio(ACTIVE_SLOTS_COEFFICIENT),
                "securityParameter": self.security_parameter,
                "epochLength": self.epoch_length,
                "slotsPerKesPeriod": 129_600,
                "maxKesEvolutions": 62,
                "slotLength": {"milliseconds": self.slot_length_ms},
                "updateQuorum": 5,
                "maxLovelaceSupply": 45_000_000_000_000_000,
                "initialParameters": {
                    "minFeeCoefficient": params.min_fee_coefficient,
                    "minFeeConstant": encode.ada(params.min_fee_constant),
                    "minUtxoDepositCoefficient": 0,
                    "minUtxoDepositConstant": encode.ada(1_000_000),
                    "maxBlockBodySize": {"bytes": params.max_block_body_size},
                    "maxBlockHeaderSize": {"bytes": params.max_block_header_size},
                    "maxTransactionSize": {"bytes": params.max_transaction_size},
                    "stakeCredentialDeposit": encode.ada(params.stake_credential_deposit),
                    "stakePoolDeposit": encode.ada(params.stake_pool_deposit),
                    "stakePoolRetirementEpochBound": params.stake_pool_retirement_epoch_bound,
                    "desiredNumberOfStakePools": params.desired_number_of_stake_pools,
                    "stakePoolPledgeInfluence": encode.ratio(params.stake_pool_pledge_influence),
                    "monetaryExpansion": encode.ratio(params.monetary_expansion),
                    "treasuryExpansion": encode.ratio(params.treasury_expansion),
                    "minStakePoolCost": encode.ada(0),
                    "extraEntropy": "neutral",
                    "federatedBlockProductionRatio": "1/1",
                    "version": {"major": 2, "minor": 0},
                },
                "initialDelegates": [],
                "initialFunds": {address: encode.ada(amount) for address, amount in funds.items()},
                "initialStakePools": {"stakePools": {}, "delegators": {}},
            }
        if era == "alonzo":
            return {
                "era": "alonzo",
                "updatableParameters": {
                    "minUtxoDepositCoefficient": 34_482,
                    "collateralPercentage": params.collateral_percentage,
                    "plutusCostModels": {"plutus:v1": list(params.cost_models["plutus:v1"])},
                    "maxCollateralInputs": params.max_collateral_inputs,
                    "maxExecutionUnitsPerBlock": encode.execution_units(params.max_execution_units_per_block),
                    "maxExecutionUnitsPerTransaction": encode.execution_units(
                        params.max_execution_units_per_transaction
                    ),
                    "maxValueSize": {"bytes": params.max_value_size},
                    "scriptExecutionPrices": {
                        "memory": encode.ratio(params.price_memory),
                        "cpu": encode.ratio(params.price_cpu),
                    },
                },
            }
        if era == "conway":
            governance = encode.conway_governance_parameters(params)
            return {
                "era": "conway",
                "constitution": {
                    "metadata": {"url": "https://constitution.devnet.invalid", "hash": "00" * 32},
                    "guardrails": {"hash": "fa24fb305126805cf2164c161d852a0e7330cf988f1fe558cf7d4a64"},
                },
                "constitutionalCommittee": {"members": [], "quorum": "2/3"},
                "updatableParameters": governance,
            }
        raise ValueError(f"no genesis configuration for era {era!r}; use byron, shelley, alonzo or conway")
