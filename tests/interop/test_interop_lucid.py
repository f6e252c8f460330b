"""Lucid Evolution (`@lucid-evolution/lucid`, pinned in js/package-lock.json) through its Kupmios
provider pointed at the devnet, unmodified: Kupo's API subset from the devnet under /kupo and its Ogmios
by HTTP POST (issue 14, point 15). One node process runs every step; the test reads the chain after."""

from __future__ import annotations

from typing import Any

from interop_support import Keys, find_transactions, kupo, redeemer_is, rpc, run_node, script_json, utxo_at
from pycardano.crypto.bech32 import Encoding, bech32_encode, convertbits

SPEND, MINT, WITHDRAW = redeemer_is(42, "lucid"), redeemer_is(43, "lucid"), redeemer_is(44, "lucid")


def _private_key(keys: Keys) -> str:
    data = convertbits(list(bytes(keys.payment.payload)), 8, 5)
    assert data is not None
    return bech32_encode("ed25519_sk", data, Encoding.BECH32)


def test_lucid_evolution_through_kupmios(node: str, devnet_process: Any) -> None:
    port = devnet_process.port
    alice, bob = Keys(), Keys()
    rpc(port, "devnet/fund", {"address": str(alice.enterprise), "lovelace": 200_000_000})
    rpc(port, "devnet/fund", {"address": str(alice.enterprise), "lovelace": 10_000_000})
    report = run_node(
        node,
        "lucid.mjs",
        {
            "port": port,
            "privateKey": _private_key(alice),
            "bob": str(bob.enterprise),
            "scripts": {
                "spend": script_json(SPEND),
                "mint": script_json(MINT),
                "withdraw": script_json(WITHDRAW),
            },
        },
    )
    steps = report["steps"]
    assert report["address"] == str(alice.enterprise)
    txs = find_transactions(port, set(steps.values()))
    assert set(txs) == set(steps.values())

    assert [u["value"]["ada"]["lovelace"] for u in utxo_at(port, str(bob.enterprise))] == [5_000_000]

    # The native mint with its metadata; Lucid found the token by unit and by address and unit.
    policy = report["policy"]
    minted = txs[steps["nativeMint"]]
    assert minted["mint"] == {policy: {b"lucid".hex(): 10}}
    assert minted["metadata"]["labels"]["674"]["json"] == {"msg": ["lucid"]}
    assert report["byUnit"]["quantity"] == "10" and report["withUnit"] == 1
    assert report["byUnit"]["txHash"] == steps["nativeMint"]

    # The three script outputs as Lucid read them from Kupo: inline datums resolved, the hashed
    # datum fetched by its hash, the reference script resolved.
    seen = sorted(report["atScript"], key=lambda u: int(u["lovelace"]))
    assert [int(u["lovelace"]) for u in seen] == [10_000_000, 11_000_000, 20_000_000]
    assert seen[0]["datum"] == "07" and seen[1]["datum"] is None and seen[1]["datumHash"]
    assert seen[2]["scriptRef"] == "PlutusV3" and seen[2]["datum"] == "09"
    assert report["datumOf"] == "8" and report["byOutRef"] is True

    # The spend through the reference script, evaluated by the devnet; two spend redeemers of 42.
    spend = txs[steps["spend"]]
    assert sorted(r["validator"]["purpose"] for r in spend["redeemers"]) == ["spend", "spend"]
    assert all(r["redeemer"] == "182a" and r["executionUnits"]["cpu"] > 0 for r in spend["redeemers"])
    assert spend["references"] and spend.get("datums"), "reference input, and the hashed datum's preimage"
    left = [int(u["value"]["ada"]["lovelace"]) for u in utxo_at(port, report["scriptAddress"])]
    assert left == [20_000_000]

    # The V3 mint evaluated by Lucid's local evaluator and accepted by the devnet.
    assert report["mintPolicy"] == script_json(MINT)["hash"]
    assert txs[steps["plutusMint"]]["mint"] == {report["mintPolicy"]: {b"lucid".hex(): 1}}
    [holder] = kupo(port, f"/matches/{report['mintPolicy']}.*?unspent")
    assert holder["value"]["assets"][f"{report['mintPolicy']}.{b'lucid'.hex()}"] == 1

    # The withdraw-zero validator: registered, then run once by a zero withdrawal.
    registration = txs[steps["scriptRegistration"]]["certificates"]
    assert [c["type"] for c in registration] == ["stakeCredentialRegistration"]
    withdrawal = txs[steps["withdrawZero"]]
    assert [r["validator"]["purpose"] for r in withdrawal["redeemers"]] == ["withdraw"]
    assert withdrawal["withdrawals"] == {report["rewardAddress"]: {"ada": {"lovelace": 0}}}
    assert report["delegation"] == {"poolId": None, "rewards": "0"}
    script_hash = script_json(WITHDRAW)["hash"]
    [account] = rpc(port, "queryLedgerState/rewardAccountSummaries", {"scripts": [script_hash]})
    assert account["deposit"]["ada"]["lovelace"] == 2_000_000
