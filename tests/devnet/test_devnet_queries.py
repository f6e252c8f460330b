"""Staking, rewards and governance queries answered as a node of this devnet would (issue 14, point 10).

Before, each answered -32601 (unknown method) and clients that ask them while setting up stopped.
The devnet has one pool (its block producer), no reward pots and no governance actions, so the answers
say so; `OgmiosProbe` validates every answer against the official Ogmios v6.14 schema. Reward accounts
and delegations are tested with the certificates that make them (test_devnet_staking.py).
"""

from __future__ import annotations

from devnet_support import OgmiosProbe

from milestoned.devnet.service import Devnet


async def test_staking_and_rewards_queries(probe: OgmiosProbe, devnet: Devnet) -> None:
    pools = await probe.result("queryLedgerState/stakePools")
    [pool] = devnet.chain.pools.values()
    assert (
        list(pools) == [pool.bech32]
        and pools[pool.bech32]["vrfVerificationKeyHash"] == pool.vrf_key_hash.hex()
    )
    assert await probe.result("queryLedgerState/stakePools", {"stakePools": []}) == {}
    assert await probe.result("queryLedgerState/stakePools", {"stakePools": [{"id": pool.bech32}]}) == pools
    assert await probe.result("queryLedgerState/liveStakeDistribution") == {
        pool.bech32: {"stake": "0/1", "vrf": pool.vrf_key_hash.hex()}
    }
    assert await probe.result("queryLedgerState/rewardAccountSummaries", {"keys": ["ab" * 28]}) == []
    performances = await probe.result("queryLedgerState/stakePoolsPerformances")
    assert performances["desiredNumberOfStakePools"] == 500 and performances["stakePools"] == {}
    provenance = await probe.result("queryLedgerState/rewardsProvenance")
    assert provenance["totalRewards"] == {"ada": {"lovelace": 0}} and provenance["stakePools"] == {}
    projected = await probe.result(
        "queryLedgerState/projectedRewards", {"stake": [{"ada": {"lovelace": 1_000_000}}]}
    )
    assert projected == {"1000000": {}}
    assert await probe.result("queryLedgerState/treasuryAndReserves") == {
        "treasury": {"ada": {"lovelace": 0}},
        "reserves": {"ada": {"lovelace": 0}},
    }


async def test_governance_queries(probe: OgmiosProbe, devnet: Devnet) -> None:
    genesis = await probe.result("queryNetwork/genesisConfiguration", {"era": "conway"})
    assert await probe.result("queryLedgerState/constitution") == genesis["constitution"]
    committee = await probe.result("queryLedgerState/constitutionalCommittee")
    assert committee == genesis["constitutionalCommittee"]
    assert await probe.result("queryLedgerState/governanceProposals") == []
    dreps = await probe.result("queryLedgerState/delegateRepresentatives")
    assert [d["type"] for d in dreps] == ["abstain", "noConfidence"]


async def test_nonces_follow_the_chain(probe: OgmiosProbe, devnet: Devnet) -> None:
    first = await probe.result("queryLedgerState/nonces")
    devnet.produce_block()
    second = await probe.result("queryLedgerState/nonces")
    assert second["epochNonce"] == first["epochNonce"]
    assert second["evolvingNonce"] != first["evolvingNonce"]
    devnet.advance(devnet.network.epoch_length)
    devnet.produce_block()
    third = await probe.result("queryLedgerState/nonces")
    assert third["epochNonce"] != first["epochNonce"]
    assert third["lastEpochLastAncestor"] == devnet.chain.blocks[-2].id.hex()


async def test_proposed_protocol_parameters_is_unknown_as_in_ogmios_6_14(probe: OgmiosProbe) -> None:
    assert (await probe.error("queryLedgerState/proposedProtocolParameters"))["code"] == -32601
