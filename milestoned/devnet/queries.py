"""The staking, rewards and governance queries, answered as a node of this devnet would answer them.

WHY answers rather than -32601: clients (the official TypeScript client, Blaze, Lucid Evolution) ask
these while setting up, and an "unknown method" stops them where a node would have answered. The devnet
has one stake pool (its block producer, registered at genesis), the stake credentials registered by
transactions with their reward accounts and delegations, no reward pots and no governance actions
(proposals and DRep registrations are refused), so a node following its chain would report exactly
that: the pool, the accounts, the two predefined DReps (always listed, as Ogmios does), zero pots, the
genesis constitution and committee, and nonces. Every answer validates against the official Ogmios
v6.14 schema.

`proposedProtocolParameters` stays unknown (-32601): Ogmios 6.14 removed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycardano import Address
from pycardano.crypto import bech32

from milestoned.devnet import encode
from milestoned.devnet.chain import Chain
from milestoned.devnet.hashing import blake2b_256
from milestoned.devnet.network import Network
from milestoned.devnet.staking import Credential, StakePool, account_summaries, reward_address

Query = Callable[[dict[str, Any], int], Any]
"""(params, slot of the ledger state asked about) -> result."""

ZERO = encode.ada(0)


def governance_and_staking_queries(chain: Chain, network: Network) -> dict[str, Query]:
    """The handlers by method name, for the server to register."""
    conway = network.genesis_configuration("conway", chain.genesis_funds, chain.params)

    def stake_pools_performances(params: dict[str, Any], slot: int) -> Any:
        return {
            "desiredNumberOfStakePools": chain.params.desired_number_of_stake_pools,
            "stakePoolPledgeInfluence": encode.ratio(chain.params.stake_pool_pledge_influence),
            "totalRewardsInEpoch": ZERO,
            "activeStakeInEpoch": ZERO,
            "totalStakeInEpoch": ZERO,
            "stakePools": {},
        }

    def rewards_provenance(params: dict[str, Any], slot: int) -> Any:
        return {
            "totalStake": ZERO,
            "activeStake": ZERO,
            "fees": ZERO,
            "incentives": ZERO,
            "treasuryTax": ZERO,
            "totalRewards": ZERO,
            "efficiency": "0/1",
            "stakePools": {},
        }

    def projected_rewards(params: dict[str, Any], slot: int) -> Any:
        """For each stake amount or credential asked about: rewards per pool; there is no pool."""
        keys = [str(int(stake["ada"]["lovelace"])) for stake in params.get("stake") or []]
        keys += [str(credential) for credential in (params.get("keys") or []) + (params.get("scripts") or [])]
        return {key: {} for key in keys}

    def delegate_representatives(params: dict[str, Any], slot: int) -> Any:
        return [
            {"type": "abstain", "stake": ZERO, "delegators": []},
            {"type": "noConfidence", "stake": ZERO, "delegators": []},
        ]

    def nonces(params: dict[str, Any], slot: int) -> Any:
        return chain_nonces(chain, network, slot)

    def stake_pools(params: dict[str, Any], slot: int) -> Any:
        wanted = params.get("stakePools")
        chosen = [
            pool
            for pool in chain.pools.values()
            if wanted is None or pool.bech32 in {str(item["id"]) for item in wanted}
        ]
        return {pool.bech32: stake_pool_view(pool, chain.mainnet) for pool in chosen}

    def live_stake_distribution(params: dict[str, Any], slot: int) -> Any:
        # Stake counts in the distribution from the next snapshot on; the devnet takes none, so each
        # pool's share of the active stake is zero.
        return {
            pool.bech32: {"stake": "0/1", "vrf": pool.vrf_key_hash.hex()} for pool in chain.pools.values()
        }

    def reward_account_summaries(params: dict[str, Any], slot: int) -> Any:
        wanted = [stake_credential(c, script=True) for c in params.get("scripts") or []]
        wanted += [stake_credential(c, script=False) for c in params.get("keys") or []]
        return account_summaries(chain.accounts, wanted)

    return {
        "queryLedgerState/stakePools": stake_pools,
        "queryLedgerState/rewardAccountSummaries": reward_account_summaries,
        "queryLedgerState/stakePoolsPerformances": stake_pools_performances,
        "queryLedgerState/liveStakeDistribution": live_stake_distribution,
        "queryLedgerState/rewardsProvenance": rewards_provenance,
        "queryLedgerState/projectedRewards": projected_rewards,
        "queryLedgerState/constitution": lambda params, slot: conway["constitution"],
        "queryLedgerState/constitutionalCommittee": lambda params, slot: conway["constitutionalCommittee"],
        "queryLedgerState/delegateRepresentatives": delegate_representatives,
        "queryLedgerState/governanceProposals": lambda params, slot: [],
        "queryLedgerState/treasuryAndReserves": lambda params, slot: {"treasury": ZERO, "reserves": ZERO},
        "queryLedgerState/nonces": nonces,
    }


def chain_nonces(chain: Chain, network: Network, slot: int) -> Any:
    """Nonces shaped as Praos's, derived from the chain (the devnet runs no leader election).

    The epoch nonce is a hash of the genesis (the faucet's key, the start time) and the epoch; the
    evolving and candidate nonces fold in the last block at or before `slot`; the last ancestor of the
    previous epoch is the id of its last block ("neutral" in the first epoch with blocks).
    """
    epoch = network.epoch_of(slot)
    genesis = blake2b_256(bytes(chain.faucet.signing_key.payload) + str(network.start_time_ms).encode())
    epoch_nonce = blake2b_256(genesis + epoch.to_bytes(8, "big"))
    blocks = [block for block in chain.blocks if block.slot <= slot]
    evolving = blake2b_256(epoch_nonce + (blocks[-1].id if blocks else b""))
    first_slot = network.first_slot_of(epoch)
    before = [block for block in blocks if block.slot < first_slot]
    return {
        "epochNonce": epoch_nonce.hex(),
        "candidateNonce": evolving.hex(),
        "evolvingNonce": evolving.hex(),
        "lastEpochLastAncestor": before[-1].id.hex() if before else "neutral",
    }


def stake_pool_view(pool: StakePool, mainnet: bool) -> Any:
    """Ogmios's `StakePoolView` of a registered pool."""
    return {
        "id": pool.bech32,
        "vrfVerificationKeyHash": pool.vrf_key_hash.hex(),
        "owners": [owner.hex() for owner in pool.owners],
        "cost": encode.ada(pool.cost),
        "margin": encode.ratio(pool.margin),
        "pledge": encode.ada(pool.pledge),
        "rewardAccount": reward_address(pool.reward_account, mainnet),
        "relays": [],
    }


def stake_credential(text: Any, *, script: bool) -> Credential:
    """A credential as Ogmios accepts one: 56 hex digits, bech32 `stake_vkh1…`/`script1…`, or a stake
    address (whose own header then says key or script). Raises ValueError naming the bad entry."""
    if not isinstance(text, str):
        raise ValueError(f"a stake credential must be a string, not {text!r}")
    if len(text) == 56:
        try:
            return (script, bytes.fromhex(text))
        except ValueError:
            pass
    if text.startswith(("stake_vkh1", "script1")):
        _, data = bech32.bech32_decode(text)
        raw = bytes(bech32.convertbits(data or [], 5, 8, False) or [])
        if len(raw) == 28:
            return (script, raw)
    if text.startswith(("stake1", "stake_test1")):
        raw = bytes(Address.from_primitive(text))
        return (bool(raw[0] & 0x10), raw[1:])
    raise ValueError(
        f"{text!r} is not a stake credential: give 56 hex digits, a stake_vkh1/script1 bech32 hash, "
        "or a stake address"
    )
