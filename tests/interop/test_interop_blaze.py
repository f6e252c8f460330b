"""Blaze (`@blaze-cardano/sdk`, pinned in js/package-lock.json) against a devnet process, through its
Kupmios provider: the devnet's Kupo subset under /kupo and its Ogmios (issue 14, point 15). One node
process runs every step (payment, native mint and burn with metadata, Plutus V3 lock and spend through a
reference script with Blaze's default evaluation, a V3 mint); the test then reads the chain itself."""

from __future__ import annotations

from typing import Any

from interop_support import Keys, find_transactions, redeemer_is, rpc, run_node, script_json, utxo_at

SPEND, MINT, WITHDRAW = redeemer_is(42, "blaze"), redeemer_is(43, "blaze"), redeemer_is(44, "blaze")
NAME = b"interop".hex()


def _run_blaze(node: str, port: int, staking: bool) -> tuple[Keys, Keys, dict[str, Any]]:
    alice, bob = Keys(), Keys()
    rpc(port, "devnet/fund", {"address": str(alice.address), "lovelace": 200_000_000})
    rpc(port, "devnet/fund", {"address": str(alice.address), "lovelace": 10_000_000})
    config = {
        "port": port,
        "keys": {**alice.json(), "stakeHash": alice.stake.to_verification_key().hash().payload.hex()},
        "bob": str(bob.enterprise),
        "scripts": {
            "spend": script_json(SPEND),
            "mint": script_json(MINT),
            "withdraw": script_json(WITHDRAW),
        },
        "staking": staking,
    }
    return alice, bob, run_node(node, "blaze.mjs", config)


def _quantity(utxos: list[dict[str, Any]], policy: str) -> int:
    return sum(int(u["value"].get(policy, {}).get(NAME, 0)) for u in utxos)


def test_blaze_through_kupmios(node: str, devnet_process: Any) -> None:
    port = devnet_process.port
    alice, bob, report = _run_blaze(node, port, staking=False)
    steps = report["steps"]
    assert report["address"] == str(alice.address)
    txs = find_transactions(port, set(steps.values()))
    assert set(txs) == set(steps.values()), "every transaction Blaze submitted is on the chain"

    # The payment.
    assert [u["value"]["ada"]["lovelace"] for u in utxo_at(port, str(bob.enterprise))] == [5_000_000]

    # Native mint and burn, with their metadata; 40 tokens left in the wallet.
    policy = report["nativePolicy"]
    assert txs[steps["nativeMint"]]["mint"] == {policy: {NAME: 100}}
    assert txs[steps["nativeBurn"]]["mint"] == {policy: {NAME: -60}}
    assert txs[steps["nativeMint"]]["metadata"]["labels"]["674"]["json"] == "minted by blaze"
    assert txs[steps["nativeBurn"]]["metadata"]["labels"]["674"]["json"] == "burnt by blaze"
    wallet = utxo_at(port, str(alice.address))
    assert _quantity(wallet, policy) == 40

    # Plutus V3: Blaze hashed the scripts as we do; the lock carried the inline datum and deployed the
    # reference script; the wrong redeemer failed in evaluation; the spend used the reference script.
    assert report["spendHash"] == script_json(SPEND)["hash"]
    assert report["mintHash"] == script_json(MINT)["hash"]
    assert report["lockedDatum"] == "07"
    assert report["wrongRedeemer"] != "accepted"
    spend = txs[steps["spend"]]
    [redeemer] = spend["redeemers"]
    assert redeemer["validator"]["purpose"] == "spend" and redeemer["redeemer"] == "182a"
    assert redeemer["executionUnits"]["cpu"] > 0  # set from the devnet's evaluation, not left at zero
    assert spend["references"], "the spend read the script from a reference input"
    assert "scripts" not in spend or not spend["scripts"], "no script in the spend's witnesses"
    lock_id = steps["lock"]
    assert any(i["transaction"]["id"] == lock_id for i in spend["inputs"])
    script_address_utxo = rpc(
        port,
        "queryLedgerState/utxo",
        {"outputReferences": [{"transaction": {"id": lock_id}, "index": i} for i in range(3)]},
    )
    assert not any(u["address"].startswith("addr_test1w") and "datum" in u for u in script_address_utxo)

    # The V3 mint: its redeemer ran (purpose mint) and the token is in the wallet.
    minted = txs[steps["plutusMint"]]
    assert minted["mint"] == {report["mintHash"]: {NAME: 1}}
    assert [r["validator"]["purpose"] for r in minted["redeemers"]] == ["mint"]
    assert _quantity(wallet, report["mintHash"]) == 1


def test_blaze_stake_registration_and_withdraw_zero(node: str, devnet_process: Any) -> None:
    port = devnet_process.port
    alice, _, report = _run_blaze(node, port, staking=True)
    steps = report["steps"]
    txs = find_transactions(
        port, {steps["stakeRegistration"], steps["scriptRegistration"], steps["withdrawZero"]}
    )
    assert txs[steps["stakeRegistration"]]["certificates"][0]["type"] == "stakeCredentialRegistration"
    withdraw = txs[steps["withdrawZero"]]
    assert [r["validator"]["purpose"] for r in withdraw["redeemers"]] == ["withdraw"]
    assert list(withdraw["withdrawals"].values()) == [{"ada": {"lovelace": 0}}]
    summaries = rpc(
        port,
        "queryLedgerState/rewardAccountSummaries",
        {"keys": [alice.stake.to_verification_key().hash().payload.hex()]},
    )
    assert summaries, "the registered stake key has a reward account"
