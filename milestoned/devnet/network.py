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
    SAFE_ZONE,
    SECURITY_PARAMETER,
    ProtocolParameters,
)

_ZERO_HASH_28 = "00" * 28
BYRON_PARAMETERS: dict[str, Any] = {
    "epochLength": 10 * SECURITY_PARAMETER,
    "slotLength": {"milliseconds": 20_000},
    "safeZone": 2 * SECURITY_PARAMETER,
}


@dataclass(frozen=True)
class Network:
    """Start time (whole seconds, UTC) and slot length: everything slot arithmetic needs."""

    start_time: datetime.datetime
    slot_length_ms: int
    epoch_length: int = EPOCH_LENGTH

    @property
    def start_time_ms(self) -> int:
        return int(self.start_time.timestamp() * 1000)

    def start_time_json(self) -> str:
        """UTC time without fractional seconds (ogmios-python cannot parse a fraction)."""
        return self.start_time.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def slot_to_posix_ms(self, slot: int) -> int:
        return self.start_time_ms + slot * self.slot_length_ms

    def epoch_of(self, slot: int) -> int:
        return slot // self.epoch_length

    def bound(self, slot: int) -> Any:
        return {
            "time": {"seconds": slot * self.slot_length_ms // 1000},
            "slot": slot,
            "epoch": self.epoch_of(slot),
        }

    def era_summaries(self, tip_slot: int) -> list[Any]:
        """One summary per era. The earlier eras are empty (the devnet forks into Conway at its start, as a
        node whose genesis sets every hard fork at epoch 0 reports it); Conway ends at the forecast horizon.
        Byron keeps Byron's own parameters (10k-slot epochs of 20 seconds, a 2k safe zone), as a node does.

        Every summary has an `end` (clients drop those without), and Conway's is the first epoch
        boundary at least a safe zone (3k/f slots) after the tip, as the hard-fork combinator computes.
        """
        horizon = tip_slot + SAFE_ZONE
        end_epoch = -(-horizon // self.epoch_length)
        summaries = []
        for era in ERAS:
            is_current = era == ERAS[-1]
            summaries.append(
                {
                    "start": self.bound(0),
                    "end": self.bound(end_epoch * self.epoch_length if is_current else 0),
                    "parameters": BYRON_PARAMETERS
                    if era == "byron"
                    else {
                        "epochLength": self.epoch_length,
                        "slotLength": {"milliseconds": self.slot_length_ms},
                        "safeZone": SAFE_ZONE,
                    },
                }
            )
        return summaries

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
                "securityParameter": SECURITY_PARAMETER,
                "networkMagic": NETWORK_MAGIC,
                "updatableParameters": {
                    "heavyDelegationThreshold": "3/10000",
                    "maxBlockBodySize": {"bytes": 2_000_000},
                    "maxBlockHeaderSize": {"bytes": 2_000_000},
                    "maxUpdateProposalSize": {"bytes": 700},
                    "maxTransactionSize": {"bytes": 4_096},
                    "multiPartyComputationThreshold": "1/50",
                    "scriptVersion": 0,
                    "slotDuration": self.slot_length_ms,
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
                "networkMagic": NETWORK_MAGIC,
                "network": "testnet",
                "activeSlotsCoefficient": encode.ratio(ACTIVE_SLOTS_COEFFICIENT),
                "securityParameter": SECURITY_PARAMETER,
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
